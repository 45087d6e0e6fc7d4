-- Guards over the whole schema: RLS everywhere in the exposed schema, read-only guards on every
-- writable table, helpers that cannot be hijacked through search_path.
begin;
select plan(11);

select is(
  array(select c.relname::text from pg_class c
         where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
           and not c.relrowsecurity order by 1),
  '{}'::text[],
  'every table in the exposed schema has row level security enabled');

select is(
  array(select c.relname::text from pg_class c
         where c.relnamespace = 'public'::regnamespace and c.relkind = 'v'
           and not coalesce('security_invoker=true' = any (c.reloptions), false) order by 1),
  '{}'::text[],
  'every view in the exposed schema runs with the caller''s rights (security_invoker)');

select is(
  array(select distinct p.tablename::text from pg_policies p
         where p.schemaname = 'public' and p.permissive = 'PERMISSIVE'
           and p.cmd in ('INSERT', 'UPDATE', 'DELETE', 'ALL')
           and (select count(*) from pg_policies g
                 where g.schemaname = 'public' and g.tablename = p.tablename
                   and g.permissive = 'RESTRICTIVE' and g.policyname like 'read-only sessions % nothing') <> 3
         order by 1),
  '{}'::text[],
  'every table the API can write has the three read-only-session guards');

select is(
  array(select p.tablename || ': ' || p.policyname from pg_policies p
         where p.schemaname = 'public' and p.roles <> '{authenticated}'
           and not (p.cmd = 'SELECT' and p.tablename in ('plans', 'add_ons'))
         order by 1),
  '{}'::text[],
  'every policy is explicitly for authenticated (only the public catalogue is read by anon)');

select is(
  array(select p.oid::regprocedure::text from pg_proc p
         where p.pronamespace = 'private'::regnamespace
           and not exists (select 1 from unnest(p.proconfig) c where c = 'search_path=""')
           and not (p.prokind = 'p' and not p.prosecdef)
         order by 1),
  '{}'::text[],
  'every private helper pins search_path to empty (procedures that commit cannot: see the next test)');

select is(
  array(select p.oid::regprocedure::text || ' ' || r from pg_proc p, unnest(array['anon', 'authenticated', 'service_role']) r
         where p.pronamespace = 'private'::regnamespace and p.prokind = 'p'
           and (p.prosecdef or has_function_privilege(r, p.oid, 'execute'))
         order by 1),
  '{}'::text[],
  'procedures in private (which Postgres forbids to pin search_path when they commit) run with '
  'their caller''s rights and no API role may call them');

select is(
  array(select p.oid::regprocedure::text from pg_proc p
         where p.pronamespace = 'public'::regnamespace and p.prosecdef
           and not exists (select 1 from unnest(p.proconfig) c where c = 'search_path=""')
         order by 1),
  '{}'::text[],
  'every security-definer function in the exposed schema pins search_path to empty');

select is(
  array(select c.relname::text from pg_class c
         where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'v', 'p')
           and obj_description(c.oid, 'pg_class') is null order by 1),
  '{}'::text[],
  'every table and view in the exposed schema has a comment');

select is(
  array(select c.relname || '.' || a.attname from pg_class c
          join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
         where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'v', 'p')
           and col_description(c.oid, a.attnum) is null order by 1),
  '{}'::text[],
  'every column in the exposed schema has a comment');

select is(
  array(select p.oid::regprocedure::text from pg_proc p
         where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
           and obj_description(p.oid, 'pg_proc') is null order by 1),
  '{}'::text[],
  'every function in the exposed and private schemas has a comment');

-- Hosted Supabase grants every new function in public to anon by default (the bootstrap does
-- the same), so a migration that forgets its revoke opens an RPC to the whole internet.
select is(
  array(select p.oid::regprocedure::text from pg_proc p
         where p.pronamespace = 'public'::regnamespace and has_function_privilege('anon', p.oid, 'execute')
         order by 1),
  array['check_request()'],
  'anon executes nothing in the exposed schema but the pre-request check every request runs');

select * from finish();
rollback;
