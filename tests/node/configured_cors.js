// express 5 + cors, one app per configuration, for corscheck's framework-fix tests
// (tests/e2e/test_fix_frameworks.py): each key of the JSON file is a path prefix whose routes use
// cors(options) with that key's options. A string {"$regex": "..."} stands for a RegExp.
// usage: node configured_cors.js PORT CONFIGURATIONS.json
"use strict";
const fs = require("fs");
const http = require("http");
const express = require("express");
const cors = require("cors");

function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === "object") {
    if (typeof value.$regex === "string") return new RegExp(value.$regex);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

const [port, file] = process.argv.slice(2);
const configurations = JSON.parse(fs.readFileSync(file, "utf8"));
const server = express();
for (const [name, options] of Object.entries(configurations)) {
  const router = express.Router();
  router.use(cors(revive(options)));
  router.all("/api/items", (req, res) => res.set("X-Request-Id", "7").json({ items: [] }));
  server.use(`/${name}`, router);
}
http.createServer(server).listen(Number(port), "127.0.0.1");
