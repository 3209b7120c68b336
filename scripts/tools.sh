# Shared by scripts/test and scripts/emulator: the pinned Python tools in a project virtualenv.
MOTO_VERSION=5.2.5
CFN_LINT_VERSION=1.58.0
AIOSMTPD_VERSION=1.4.6
VENV=${GATEHOUSE_VENV:-$PWD/.venv}

ensure_tools() {
  if ! "$VENV/bin/python" -c "import moto, cfnlint, flask_cors, aiosmtpd" >/dev/null 2>&1 ||
     [ "$("$VENV/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" != "$MOTO_VERSION" ]; then
    echo "installing moto $MOTO_VERSION, cfn-lint $CFN_LINT_VERSION and aiosmtpd $AIOSMTPD_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
      "moto[server,dynamodb,sqs,ses]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION" "aiosmtpd==$AIOSMTPD_VERSION"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
