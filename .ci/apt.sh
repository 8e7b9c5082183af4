#!/usr/bin/env bash
# Debian packages the test suite may use (none are required by the product).
set -e
exit 0
