// Entry point of the pubsub.mqtt3 module (libdapr_pubsub_mqtt3.so): daprd loads it only
// when an MQTT pub/sub component is configured, so libmosquitto stays unmapped otherwise.
#include "components/pubsub/mqtt3/mqtt_pubsub.h"

extern "C" __attribute__((visibility("default"))) dapr::pubsub::PubSub* DaprCreatePubSub() {
  return new dapr::components::pubsub::MqttPubSub();
}
