// supabase-js, unchanged, against the local stack. tests/tests/supabase_js.rs creates the fixture
// table `js_notes` (RLS: each user sees only the notes they own) and runs this script with
// API_URL, ANON_KEY and RUN (a suffix that keeps e-mail addresses unique), then checks the JSON
// it prints: one entry per step, `{ok, value}` or `{ok: false, error}`.

import { createClient } from "@supabase/supabase-js";
import ws from "ws";

const { API_URL, ANON_KEY, RUN } = process.env;
const PASSWORD = "correct-horse-7";

const newClient = () =>
  createClient(API_URL, ANON_KEY, {
    // Node 20 has no global WebSocket: realtime needs `ws`.
    realtime: { transport: ws },
    auth: { persistSession: false, autoRefreshToken: false },
  });

const results = {};
async function step(name, run) {
  try {
    results[name] = { ok: true, value: await run() };
  } catch (error) {
    results[name] = { ok: false, error: String(error?.message ?? error) };
  }
}

/** The data of a supabase-js answer, or its error thrown. */
function unwrap({ data, error }) {
  if (error) throw new Error(`${error.code ?? ""} ${error.message}`.trim());
  return data;
}

const alice = newClient();
const bob = newClient();
const anon = newClient();
const aliceEmail = `alice-${RUN}@example.com`;
const bobEmail = `bob-${RUN}@example.com`;
let aliceId;
let aliceFirstToken;

await step("signUp", async () => {
  const data = unwrap(
    await alice.auth.signUp({ email: aliceEmail, password: PASSWORD, options: { data: { name: "Alice" } } }),
  );
  unwrap(await bob.auth.signUp({ email: bobEmail, password: PASSWORD }));
  aliceId = data.user.id;
  return { hasSession: Boolean(data.session), email: data.user.email, name: data.user.user_metadata.name };
});

await step("signInWithPassword", async () => {
  const data = unwrap(await alice.auth.signInWithPassword({ email: aliceEmail, password: PASSWORD }));
  aliceFirstToken = data.session.access_token;
  return { sameUser: data.user.id === aliceId, tokenType: data.session.token_type };
});

await step("signInWithPassword wrong password", async () => {
  const { error } = await newClient().auth.signInWithPassword({ email: aliceEmail, password: "nope-nope" });
  return { status: error?.status, code: error?.code };
});

await step("getUser", async () => {
  const data = unwrap(await alice.auth.getUser());
  return { sameUser: data.user.id === aliceId };
});

await step("refreshSession", async () => {
  const before = (await alice.auth.getSession()).data.session.refresh_token;
  const data = unwrap(await alice.auth.refreshSession());
  return { rotated: data.session.refresh_token !== before, sameUser: data.user.id === aliceId };
});

await step("insert().select()", async () => {
  const rows = unwrap(
    await alice
      .from("js_notes")
      .insert([
        { title: "a1", rank: 1 },
        { title: "a2", rank: 2 },
        { title: "a3", rank: 3 },
      ])
      .select("title, owner"),
  );
  unwrap(await bob.from("js_notes").insert({ title: "b1", rank: 1 }));
  return { titles: rows.map((r) => r.title), ownedByAlice: rows.every((r) => r.owner === aliceId) };
});

await step("select().eq().order().range()", async () => {
  const rows = unwrap(
    await alice
      .from("js_notes")
      .select("title, rank")
      .eq("done", false)
      .order("rank", { ascending: false })
      .range(0, 1),
  );
  return rows.map((r) => r.title);
});

await step("RLS: bob sees only his notes", async () => {
  return unwrap(await bob.from("js_notes").select("title")).map((r) => r.title);
});

await step("RLS: anon sees nothing", async () => {
  return unwrap(await anon.from("js_notes").select("title")).length;
});

await step("update().eq()", async () => {
  const rows = unwrap(await alice.from("js_notes").update({ done: true }).eq("title", "a1").select("title, done"));
  const bobs = unwrap(await bob.from("js_notes").update({ done: true }).eq("title", "a2").select("title"));
  return { updated: rows, bobUpdatedOfAlices: bobs.length };
});

await step("delete()", async () => {
  unwrap(await alice.from("js_notes").delete().eq("title", "a2"));
  unwrap(await bob.from("js_notes").delete().eq("title", "a3"));
  return unwrap(await alice.from("js_notes").select("title").order("rank")).map((r) => r.title);
});

await step("upsert()", async () => {
  const [a3] = unwrap(await alice.from("js_notes").select("id").eq("title", "a3"));
  const updated = unwrap(
    await alice.from("js_notes").upsert({ id: a3.id, title: "a3-renamed", rank: 3 }).select("title"),
  );
  const inserted = unwrap(await alice.from("js_notes").upsert({ title: "a4", rank: 4 }).select("title"));
  const rows = [...updated, ...inserted];
  return rows.map((r) => r.title).sort();
});

await step("rpc()", async () => {
  return { alice: unwrap(await alice.rpc("js_notes_count")), bob: unwrap(await bob.rpc("js_notes_count")) };
});

await step("signOut", async () => {
  unwrap(await alice.auth.signOut());
  // The server answers 403 session_not_found; supabase-js reports it as a missing session.
  const { error } = await alice.auth.getUser(aliceFirstToken);
  return { afterwards: error?.name };
});

console.log(JSON.stringify(results));
