// Test certificates, made with the openssl command: a CA, a server certificate for
// 127.0.0.1 / localhost and a client certificate, both signed by the CA; PEM strings.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export function makeCertificates(dir) {
  const file = (name) => path.join(dir, name);
  const openssl = (...args) => execFileSync("openssl", args, { stdio: "pipe" });
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=e2e-ca",
    "-keyout", file("ca.key"), "-out", file("ca.crt"));
  for (const [name, ext] of [["server", "subjectAltName=IP:127.0.0.1,DNS:localhost"], ["client", "extendedKeyUsage=clientAuth"]]) {
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=e2e-${name}`,
      "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`));
    writeFileSync(file(`${name}.ext`), `${ext}\n`);
    openssl("x509", "-req", "-in", file(`${name}.csr`), "-CA", file("ca.crt"), "-CAkey", file("ca.key"),
      "-CAcreateserial", "-days", "2", "-extfile", file(`${name}.ext`), "-out", file(`${name}.crt`));
  }
  const read = (name) => readFileSync(file(name), "utf8");
  return {
    ca: read("ca.crt"),
    serverCert: read("server.crt"), serverKey: read("server.key"),
    clientCert: read("client.crt"), clientKey: read("client.key"),
  };
}

