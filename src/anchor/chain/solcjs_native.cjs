#!/usr/bin/env node
// A native-solc look-alike backed by the npm `solc` package (solcjs).
//
// It answers the two calls py-solc-x and ape make of a native compiler:
//   solc --version
//   solc --standard-json [--base-path P] [--include-path P]... [--allow-paths A,B] [-|FILE]  (input on stdin)
// Imports are read from disk below the base path and include paths, and only inside them (plus --allow-paths),
// like native solc. Nothing is downloaded. The solcjs module is taken from ANCHOR_SOLCJS_MODULE (a folder),
// else resolved from the working directory.
"use strict";

const fs = require("fs");
const path = require("path");

function loadSolc() {
  const explicit = process.env.ANCHOR_SOLCJS_MODULE;
  const where = explicit ? explicit : require.resolve("solc", { paths: [process.cwd(), __dirname] });
  return require(where);
}

function fail(message, code) {
  process.stderr.write(message + "\n");
  process.exit(code);
}

function parseArgs(argv) {
  const options = { standardJson: false, version: false, basePath: null, includePaths: [], allowPaths: [], input: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`Error: option '${arg}' requires a value`, 1);
      return argv[++i];
    };
    if (arg === "--version") options.version = true;
    else if (arg === "--standard-json") options.standardJson = true;
    else if (arg === "--base-path") options.basePath = value();
    else if (arg === "--include-path") options.includePaths.push(value());
    else if (arg === "--allow-paths") options.allowPaths.push(...value().split(",").filter(Boolean));
    else if (arg === "-") options.input = "-";
    else if (arg.startsWith("-")) fail(`unrecognised option '${arg}'`, 1);
    else options.input = arg;
  }
  return options;
}

function isInside(file, folder) {
  const relative = path.relative(folder, file);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

function makeImportReader(options) {
  const base = path.resolve(options.basePath || process.cwd());
  const roots = [base, ...options.includePaths.map((p) => path.resolve(p))];
  const allowed = [...roots, ...options.allowPaths.map((p) => path.resolve(p))];
  return function readImport(sourceUnitName) {
    const candidates = path.isAbsolute(sourceUnitName)
      ? [path.resolve(sourceUnitName)]
      : roots.map((root) => path.resolve(root, sourceUnitName));
    for (const file of candidates) {
      if (!allowed.some((folder) => isInside(file, folder))) continue;
      if (fs.existsSync(file) && fs.statSync(file).isFile()) {
        return { contents: fs.readFileSync(file, "utf8") };
      }
    }
    return { error: `File not found inside the base path or any of the include paths: ${sourceUnitName}` };
  };
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const solc = loadSolc();
  if (options.version) {
    // Same shape as native solc, which py-solc-x parses.
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  if (!options.standardJson) fail("Error: only --version and --standard-json are supported by this solcjs shim", 1);
  const input =
    options.input && options.input !== "-" ? fs.readFileSync(options.input, "utf8") : fs.readFileSync(0, "utf8");
  const output = solc.compile(input, { import: makeImportReader(options) });
  process.stdout.write(output + "\n");
}

main();
