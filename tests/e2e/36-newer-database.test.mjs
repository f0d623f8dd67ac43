// A database a newer Tributary wrote: the app must not fail inside its start with only a log line
// (issue 14). It opens a window that says why, changes nothing, and quits when it is closed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname } from "node:path";
import { App } from "./app.mjs";

let app;
let d;

before(async () => {
  app = new App("newer-database");
  mkdirSync(dirname(app.database), { recursive: true });
  // A schema change this build does not know, as a newer version would have recorded it.
  execFileSync("/usr/bin/python3", [
    "-c",
    "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);" +
      "c.execute('CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)');" +
      "c.execute(\"INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (29991231000000, 'from a newer version', 1, x'00', 0)\");" +
      "c.commit()",
    app.database,
  ]);
  await app.start();
  d = app.driver;
});

after(async () => {
  await app?.stop();
});

test("a database from a newer version is refused in a window that says why", async () => {
  const message = await d.waitFor(() => d.text("fatal-message"), "the cannot-start window");
  assert.match(message, /newer version of Tributary/);
  assert.match(message, /tributary\.db/, "names the database");
  assert.equal(await d.find("card-strava"), null, "no dashboard: nothing runs");
  const tables = execFileSync("/usr/bin/python3", [
    "-c",
    "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(','.join(r[0] for r in c.execute(\"SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name\")))",
    app.database,
  ]).toString().trim();
  assert.equal(tables, "_sqlx_migrations", "nothing migrated, nothing created");
  await app.shot("newer-database");
});
