#!/bin/sh
# Development only (docker compose): makes the federation's trust registry and every
# secret once, then hands each to the only containers that need it, owned by the user those
# containers run as and readable by nobody else:
#   /registry                 registry.json (public: every service)
#   /secrets-<id>             one institution's services (uid 10001): keys.json,
#                             kafka-password, mongo-<service>.password
#   /mongo-<id>               its MongoDB (uid 999): keyfile, root-password, the same
#                             service passwords (the init script creates those users)
#   /kafka-admin              the broker and the setup job (uid 1000): the admin password,
#                             the admin client's properties, each institution's Kafka password
#   /grafana                  Grafana (uid 472): admin-password
#   /integrators              read-only integrators (uid 10001): <institution>.<name>.kafka-password
# env: INSTITUTIONS (space-separated ids); INTEGRATORS (as deploy/kafka/setup.sh reads it);
# SECRETS_ROOT (default /: where the volumes are
# mounted; a test runs the job on folders). Production secrets never come from here.
set -eu
root="${SECRETS_ROOT:-}"
if [ -s "$root/registry/registry.json" ]; then
  echo "development secrets exist; keeping them"
  exit 0
fi
work=$(mktemp -d)
# Each institution signs its people in at its own realm of the development Keycloak.
issuers=""
for id in $INSTITUTIONS; do
  issuers="$issuers --oidc-issuer $id=${KEYCLOAK_URL:-http://keycloak:8080}/realms/$id"
done
# shellcheck disable=SC2086  # INSTITUTIONS and issuers are lists of words
telemachus dev-trust --dir "$work" --kafka-passwords $issuers $INSTITUTIONS
random() { head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40; }
put() {  # put OWNER FILE CONTENT-FROM-FILE
  install -o "$1" -g "$1" -m 0400 "$3" "$2"
}
admin="$work/kafka-admin.password"
random > "$admin"
printf 'password=%s\n' "$(cat "$admin")" > "$work/admin.properties"
printf '%s\n' 'security.protocol=SASL_PLAINTEXT' 'sasl.mechanism=PLAIN' \
  "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$(cat "$admin")\";" \
  > "$work/client.properties"
put 1000 "$root/kafka-admin/admin.properties" "$work/admin.properties"
put 1000 "$root/kafka-admin/client.properties" "$work/client.properties"
random > "$work/grafana"
put 472 "$root/grafana/admin-password" "$work/grafana"
for id in $INSTITUTIONS; do
  put 10001 "$root/secrets-$id/keys.json" "$work/$id.keys.json"
  put 10001 "$root/secrets-$id/kafka-password" "$work/$id.kafka-password"
  put 1000 "$root/kafka-admin/$id.kafka-password" "$work/$id.kafka-password"
  random > "$work/$id.root"
  put 999 "$root/mongo-$id/root-password" "$work/$id.root"
  head -c 756 /dev/urandom | base64 > "$work/$id.keyfile"
  put 999 "$root/mongo-$id/keyfile" "$work/$id.keyfile"
  for service in identity pairing sessions feedback; do
    random > "$work/$id.$service"
    put 10001 "$root/secrets-$id/mongo-$service.password" "$work/$id.$service"
    put 999 "$root/mongo-$id/mongo-$service.password" "$work/$id.$service"
  done
done
# Read-only integrator principals (deploy/kafka/setup.sh): the password for the broker's
# setup job, and for the integrator in /integrators.
for entry in ${INTEGRATORS:-}; do
  principal=$(printf '%s' "${entry%%=*}" | tr / .)
  random > "$work/$principal"
  put 1000 "$root/kafka-admin/$principal.kafka-password" "$work/$principal"
  put 10001 "$root/integrators/$principal.kafka-password" "$work/$principal"
done
install -m 0444 "$work/registry.json" "$root/registry/registry.json"
rm -rf "$work"
echo "development secrets made for: $INSTITUTIONS"
