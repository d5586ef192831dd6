// Development only (docker compose): runs once, when the institution's MongoDB is first
// initialised. Each service gets its own user with readWrite on its own database only;
// the passwords are the files the secrets job made (deploy/compose/dev-secrets.sh).
const fs = require("fs");
const institution = process.env.INSTITUTION;
const admin = db.getSiblingDB("admin");
for (const service of ["identity", "pairing", "sessions", "feedback"]) {
  const pwd = fs.readFileSync(`/secrets/mongo-${service}.password`, "utf8").trim();
  admin.createUser({
    user: service,
    pwd,
    roles: [{ role: "readWrite", db: `telemachus-${institution}-${service}` }],
  });
}
