# Shared by scripts/test and scripts/emulator: the pinned Python tools in a project virtualenv.
MOTO_VERSION=5.2.5
CFN_LINT_VERSION=1.58.0
AIOSMTPD_VERSION=1.4.6
OPENAPI_SPEC_VALIDATOR_VERSION=0.9.0
# The API contract fuzzer (scripts/fuzz).
SCHEMATHESIS_VERSION=4.32.5
# The TypeScript client generator frontends use, and the compiler that checks what it generates.
OPENAPI_TYPESCRIPT_VERSION=7.13.0
TYPESCRIPT_VERSION=5.9.3
NPM_TOOLS=${GATEHOUSE_NPM_TOOLS:-$PWD/.npm-tools}
VENV=${GATEHOUSE_VENV:-$PWD/.venv}

ensure_tools() {
  # The installed versions of the pinned tools, compared with the pins (an old venv is brought up to date).
  local installed wanted
  installed=$("$VENV/bin/python" -c '
import importlib.metadata as m
print(" ".join(m.version(p) for p in ["moto", "cfn-lint", "aiosmtpd", "openapi-spec-validator", "schemathesis"]))
import flask_cors' 2>/dev/null || true)
  wanted="$MOTO_VERSION $CFN_LINT_VERSION $AIOSMTPD_VERSION $OPENAPI_SPEC_VALIDATOR_VERSION $SCHEMATHESIS_VERSION"
  if [ "$installed" != "$wanted" ]; then
    echo "installing moto $MOTO_VERSION, cfn-lint $CFN_LINT_VERSION, aiosmtpd $AIOSMTPD_VERSION, openapi-spec-validator $OPENAPI_SPEC_VALIDATOR_VERSION and schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
      "moto[server,dynamodb,sqs,ses]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION" "aiosmtpd==$AIOSMTPD_VERSION" \
      "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION" "schemathesis==$SCHEMATHESIS_VERSION"
  fi
}

# openapi-typescript and tsc from the npm registry, pinned, into $NPM_TOOLS.
ensure_npm_tools() {
  if [ "$("$NPM_TOOLS/node_modules/.bin/openapi-typescript" --version 2>/dev/null)" != "v$OPENAPI_TYPESCRIPT_VERSION" ] ||
     [ ! -x "$NPM_TOOLS/node_modules/.bin/tsc" ]; then
    echo "installing openapi-typescript $OPENAPI_TYPESCRIPT_VERSION and typescript $TYPESCRIPT_VERSION into $NPM_TOOLS"
    mkdir -p "$NPM_TOOLS"
    npm install --silent --no-audit --no-fund --prefix "$NPM_TOOLS" \
      "openapi-typescript@$OPENAPI_TYPESCRIPT_VERSION" "typescript@$TYPESCRIPT_VERSION" >/dev/null
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The portal's npm packages, exactly as portal/package-lock.json pins them (no global installs;
# Playwright's own browser download is skipped: the journeys drive Debian's Chromium).
ensure_portal_packages() {
  if ! cmp -s portal/package-lock.json portal/node_modules/.installed-lock.json 2>/dev/null; then
    echo "installing the portal's npm packages (npm ci)"
    (cd portal && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund >/dev/null &&
      cp package-lock.json node_modules/.installed-lock.json)
  fi
}

# Debian's Chromium for the browser journeys, from the distribution's packages.
CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
ensure_chromium() {
  if [ ! -x "$CHROMIUM_PATH" ]; then
    echo "installing Debian's chromium"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null ||
      { $sudo apt-get update -q >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
  fi
  export CHROMIUM_PATH
}
