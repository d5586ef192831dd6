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
# env: INSTITUTIONS (space-separated ids). Production secrets never come from here.
set -eu
if [ -s /registry/registry.json ]; then
  echo "development secrets exist; keeping them"
  exit 0
fi
work=$(mktemp -d)
# shellcheck disable=SC2086  # INSTITUTIONS is a list of words
telemachus dev-trust --dir "$work" --kafka-passwords $INSTITUTIONS
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
put 1000 /kafka-admin/admin.properties "$work/admin.properties"
put 1000 /kafka-admin/client.properties "$work/client.properties"
random > "$work/grafana"
put 472 /grafana/admin-password "$work/grafana"
for id in $INSTITUTIONS; do
  put 10001 "/secrets-$id/keys.json" "$work/$id.keys.json"
  put 10001 "/secrets-$id/kafka-password" "$work/$id.kafka-password"
  put 1000 "/kafka-admin/$id.kafka-password" "$work/$id.kafka-password"
  random > "$work/$id.root"
  put 999 "/mongo-$id/root-password" "$work/$id.root"
  head -c 756 /dev/urandom | base64 > "$work/$id.keyfile"
  put 999 "/mongo-$id/keyfile" "$work/$id.keyfile"
  for service in identity pairing sessions feedback; do
    random > "$work/$id.$service"
    put 10001 "/secrets-$id/mongo-$service.password" "$work/$id.$service"
    put 999 "/mongo-$id/mongo-$service.password" "$work/$id.$service"
  done
done
install -m 0444 "$work/registry.json" /registry/registry.json
rm -rf "$work"
echo "development secrets made for: $INSTITUTIONS"
