#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, type-checks, runs every test and
# ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm packages (npm ci)..."
  npm ci --no-audit --no-fund
fi

# Real peers the tests talk to: dcmtk (storescu/storescp/dcmdump/dsrdump), pydicom's sample files, redis-server,
# chromium, firefox-esr (viewer-firefox.test.ts drives it through WebDriver BiDi), Orthanc with its DICOMweb plugin
# (a DIMSE peer, and the hospital PACS that receives reports), openssl (TLS certificates); strace proves the order of
# a STOW's flushes (stow-durability-order.test.ts).
bash scripts/ensure-system-packages.sh dcmtk python3-pydicom redis-server chromium firefox-esr strace orthanc orthanc-dicomweb openssl

echo "Type-checking..."
npx tsc --noEmit -p .
npx tsc --noEmit -p viewer
echo "Checking the layers (imports point down, no cycles: .dependency-cruiser.cjs)..."
npm run --silent check:layers
# The gateways the tests start run the compiled JavaScript, as `npm start` does.
node scripts/build.mjs --if-stale
# The web app the gateway serves at / (viewer/dist), which the browser tests drive.
node scripts/build-viewer.mjs --if-stale

mkdir -p .tmp
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-report.json "$@"
status=$?
set -e
node -e '
  const r = JSON.parse(require("fs").readFileSync(".tmp/vitest-report.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || true
exit $status
