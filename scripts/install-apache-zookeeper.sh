#!/usr/bin/env bash
# Installs Apache ZooKeeper 3.8 (Debian's `zookeeper` package) and a JDK (the tests compile small
# Java client programs against it) for the compatibility tests.
# Idempotent: does nothing when a 3.8 jar is already installed. Fails loudly when it cannot.
set -euo pipefail

JAR=/usr/share/java/zookeeper.jar
SERVLET_JAR=/usr/share/java/servlet-api.jar

have_zk38() {
  [ -f "$JAR" ] && [ -f "$SERVLET_JAR" ] && command -v java >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 &&
    dpkg-query -W -f='${Version}' zookeeper 2>/dev/null | grep -q '^3\.8\.'
}

if have_zk38; then
  echo "Apache ZooKeeper $(dpkg-query -W -f='${Version}' zookeeper) is installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

echo "Installing Apache ZooKeeper 3.8 from Debian's zookeeper package..."
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends zookeeper libservlet-api-java default-jdk-headless >/dev/null; }; then
  echo "ERROR: could not install Debian's zookeeper package (apt-get failed)." >&2
  echo "The compatibility tests need Apache ZooKeeper 3.8 and do not run without it." >&2
  exit 1
fi

if ! have_zk38; then
  echo "ERROR: Debian's zookeeper package is not version 3.8 or $JAR is missing." >&2
  exit 1
fi
echo "Apache ZooKeeper $(dpkg-query -W -f='${Version}' zookeeper) installed"
