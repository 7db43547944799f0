// express 5 + cors for corscheck's real-server tests: one intended policy (origin
// https://app.example.com, methods GET and PUT, header Content-Type, credentials), served correctly
// on one port and broken (any origin reflected, with credentials) on another; each over HTTP and,
// when a certificate is given, HTTPS.
// usage: node cors_server.js GOOD_PORT BROKEN_PORT [GOOD_TLS_PORT BROKEN_TLS_PORT CERT KEY]
"use strict";
const fs = require("fs");
const http = require("http");
const https = require("https");
const express = require("express");
const cors = require("cors");

function app(origin) {
  const server = express();
  server.use(
    cors({
      origin,
      credentials: true,
      methods: ["GET", "PUT"],
      allowedHeaders: ["Content-Type"],
      maxAge: 600,
    }),
  );
  server.use((req, res) => res.type("text").send("ok\n"));
  return server;
}

const good = app(["https://app.example.com"]);
const broken = app(true);
const [goodPort, brokenPort, goodTls, brokenTls, cert, key] = process.argv.slice(2);
http.createServer(good).listen(Number(goodPort), "127.0.0.1");
http.createServer(broken).listen(Number(brokenPort), "127.0.0.1");
if (cert) {
  const tls = { cert: fs.readFileSync(cert), key: fs.readFileSync(key) };
  https.createServer(tls, good).listen(Number(goodTls), "127.0.0.1");
  https.createServer(tls, broken).listen(Number(brokenTls), "127.0.0.1");
}
