#!/usr/bin/env bash
# One-shot: a SCRAM principal per institution and its ACLs, on the broker's setup listener.
# Each institution may write, create and describe only telemachus.<its id>.*, read the
# federation's topics (telemachus.*), and use consumer groups telemachus.<its id>.*.
# Topics are made here with their settings (services would otherwise create them with
# defaults): event topics keep everything, since every read model can be rebuilt by
# replaying them; dead-letter topics keep 30 days. None is a changelog, so none is compacted.
# Integrators (an HR system, a research warehouse) get a principal of their own that can
# only read: READ and DESCRIBE on the topics of their institution they are entitled to,
# READ on their own consumer groups integrator.<institution>.<name>.*, nothing else: no
# WRITE or CREATE anywhere (they cannot publish as the institution), no dead-letter topic,
# no other institution's topic, and not the services' groups (joining one would take
# partitions from a service).
# env: BOOTSTRAP (the setup listener), COMMAND_CONFIG (the admin client's properties: how
#      it authenticates there), PARTITIONS (default 3), INSTITUTIONS (space-separated ids),
#      and each institution's password in PASSWORD_<ID with - as _> or in the file
#      $PASSWORD_DIR/<id>.kafka-password (compose: made by the development secrets job);
#      INTEGRATORS (optional, space-separated <institution>/<name>=<service>,<service>...),
#      each one's principal is <institution>.<name>, its password in
#      PASSWORD_<INSTITUTION>_<NAME> (- as _) or $PASSWORD_DIR/<institution>.<name>.kafka-password;
#      KAFKA_BIN (default /opt/kafka/bin: where the Kafka tools are).
set -euo pipefail
bin=${KAFKA_BIN:-/opt/kafka/bin}
admin=()
[ -n "${COMMAND_CONFIG:-}" ] && admin=(--command-config "$COMMAND_CONFIG")
topics() { "$bin/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" "${admin[@]}" "$@"; }
for _ in $(seq 60); do
  topics --list >/dev/null 2>&1 && break
  sleep 2
done
password_of() {  # password_of PRINCIPAL: from PASSWORD_<PRINCIPAL, - and . as _> or the file
  local var="PASSWORD_${1//[-.]/_}" password
  password="${!var:-}"
  if [ -z "$password" ] && [ -n "${PASSWORD_DIR:-}" ] && [ -r "$PASSWORD_DIR/$1.kafka-password" ]; then
    password=$(cat "$PASSWORD_DIR/$1.kafka-password")
  fi
  [ -n "$password" ] || { echo "no password for $1 ($var or PASSWORD_DIR)" >&2; return 1; }
  printf '%s' "$password"
}
scram_user() {  # scram_user PRINCIPAL PASSWORD
  "$bin/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" "${admin[@]}" --alter --entity-type users \
    --entity-name "$1" --add-config "SCRAM-SHA-512=[iterations=8192,password=$2]"
}
acl() {  # acl PRINCIPAL ACL-OPTIONS...
  local principal=$1
  shift
  "$bin/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" "${admin[@]}" --add \
    --allow-principal "User:$principal" "$@"
}
known() {  # known WORD LIST...: whether WORD is one of LIST
  local word=$1
  shift
  for item in "$@"; do [ "$item" = "$word" ] && return 0; done
  return 1
}
services=(identity pairing sessions feedback)
# Integrators are checked before anything changes on the broker: a typo refuses the run.
for entry in ${INTEGRATORS:-}; do
  [[ "$entry" =~ ^([a-z][a-z0-9-]{1,40})/([a-z][a-z0-9-]{0,40})=([a-z,]+)$ ]] ||
    { echo "INTEGRATORS: '$entry' is not <institution>/<name>=<service>,..." >&2; exit 1; }
  # shellcheck disable=SC2086  # INSTITUTIONS is a list of words
  known "${BASH_REMATCH[1]}" $INSTITUTIONS ||
    { echo "INTEGRATORS: '$entry' names no institution of INSTITUTIONS" >&2; exit 1; }
  IFS=, read -ra wanted <<< "${BASH_REMATCH[3]}"
  for service in "${wanted[@]}"; do
    known "$service" "${services[@]}" ||
      { echo "INTEGRATORS: '$entry': no service '$service' (${services[*]})" >&2; exit 1; }
  done
done
for id in $INSTITUTIONS; do
  password=$(password_of "$id")
  scram_user "$id" "$password"
  acl "$id" --operation Write --operation Create --operation Describe \
    --topic "telemachus.$id." --resource-pattern-type prefixed
  acl "$id" --operation Read --operation Describe --topic "telemachus." --resource-pattern-type prefixed
  acl "$id" --operation Read --group "telemachus.$id." --resource-pattern-type prefixed
  for service in "${services[@]}"; do
    topics --create --if-not-exists \
      --topic "telemachus.$id.$service" --partitions "${PARTITIONS:-3}" \
      --config retention.ms=-1 --config cleanup.policy=delete
    topics --create --if-not-exists \
      --topic "telemachus.$id.$service.dead-letter" --partitions 1 \
      --config retention.ms=2592000000 --config cleanup.policy=delete
  done
  echo "principal $id: SCRAM-SHA-512, ACLs and topics on telemachus.$id.*"
done
for entry in ${INTEGRATORS:-}; do
  institution=${entry%%/*}
  rest=${entry#*/}
  name=${rest%%=*}
  principal="$institution.$name"
  password=$(password_of "$principal")
  scram_user "$principal" "$password"
  IFS=, read -ra wanted <<< "${rest#*=}"
  for service in "${wanted[@]}"; do
    acl "$principal" --operation Read --operation Describe \
      --topic "telemachus.$institution.$service" --resource-pattern-type literal
  done
  acl "$principal" --operation Read --group "integrator.$institution.$name." \
    --resource-pattern-type prefixed
  echo "integrator $principal: SCRAM-SHA-512, read-only on ${wanted[*]} of $institution," \
    "consumer groups integrator.$institution.$name.*"
done
