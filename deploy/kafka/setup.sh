#!/usr/bin/env bash
# One-shot: a SCRAM principal per institution and its ACLs, on the broker's setup listener.
# Each institution may write, create and describe only telemachus.<its id>.*, read the
# federation's topics (telemachus.*), and use consumer groups telemachus.<its id>.*.
# Topics are made here with their settings (services would otherwise create them with
# defaults): event topics keep everything, since every read model can be rebuilt by
# replaying them; dead-letter topics keep 30 days. None is a changelog, so none is compacted.
# env: BOOTSTRAP (the setup listener), COMMAND_CONFIG (the admin client's properties: how
#      it authenticates there), PARTITIONS (default 3), INSTITUTIONS (space-separated ids),
#      and each institution's password in PASSWORD_<ID with - as _> or in the file
#      $PASSWORD_DIR/<id>.kafka-password (compose: made by the development secrets job).
set -euo pipefail
bin=/opt/kafka/bin
admin=()
[ -n "${COMMAND_CONFIG:-}" ] && admin=(--command-config "$COMMAND_CONFIG")
topics() { "$bin/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" "${admin[@]}" "$@"; }
for _ in $(seq 60); do
  topics --list >/dev/null 2>&1 && break
  sleep 2
done
for id in $INSTITUTIONS; do
  var="PASSWORD_${id//-/_}"
  password="${!var:-}"
  if [ -z "$password" ] && [ -n "${PASSWORD_DIR:-}" ]; then
    password=$(cat "$PASSWORD_DIR/$id.kafka-password")
  fi
  [ -n "$password" ] || { echo "no password for $id ($var or PASSWORD_DIR)" >&2; exit 1; }
  "$bin/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" "${admin[@]}" --alter --entity-type users \
    --entity-name "$id" --add-config "SCRAM-SHA-512=[iterations=8192,password=$password]"
  acl() {
    "$bin/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" "${admin[@]}" --add \
      --allow-principal "User:$id" "$@"
  }
  acl --operation Write --operation Create --operation Describe \
    --topic "telemachus.$id." --resource-pattern-type prefixed
  acl --operation Read --operation Describe --topic "telemachus." --resource-pattern-type prefixed
  acl --operation Read --group "telemachus.$id." --resource-pattern-type prefixed
  for service in identity pairing sessions feedback; do
    topics --create --if-not-exists \
      --topic "telemachus.$id.$service" --partitions "${PARTITIONS:-3}" \
      --config retention.ms=-1 --config cleanup.policy=delete
    topics --create --if-not-exists \
      --topic "telemachus.$id.$service.dead-letter" --partitions 1 \
      --config retention.ms=2592000000 --config cleanup.policy=delete
  done
  echo "principal $id: SCRAM-SHA-512, ACLs and topics on telemachus.$id.*"
done
