#!/bin/sh
# Prints a .env with random hex passwords for docker-compose.yml:
#   ./docker/make-env.sh > .env
set -eu
secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
echo "REDIS_PASSWORD=$(secret)"
echo "MINIO_ROOT_PASSWORD=$(secret)"
echo "MINIO_APP_PASSWORD=$(secret)"
echo "WEBHOOK_SECRET=whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
