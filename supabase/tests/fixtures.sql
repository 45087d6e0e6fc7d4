-- Test fixtures for the pgTAP suite. scripts/test loads this file into the fresh test database
-- before pg_prove runs; it is never applied to a real database (it is not a migration).
--
-- The `tests` schema gives every test file:
--   tests.create_world()             the personas and their organizations, named in tests.names
--   tests.id('name')                 the uuid of a named fixture row
--   tests.name(id)                   back from a uuid to its fixture name (or the id as text)
--   tests.authenticate_as('persona') switch role and JWT claims as PostgREST does
--   tests.clear_authentication()     back to the owner
--   tests.seen('persona', query)     the sorted first column of `query` run as the persona
--   tests.try_as('persona', stmt)    'ok <rows>' or '<sqlstate> <message>'; always rolled back
--
-- Personas: rep, rep2 (org A, another team), team_manager (manages rep's team only),
-- enterprise_tm, enterprise_admin (org A), other (a rep of org B), suspended (a rep of the
-- suspended org C), platform_admin (no organization), read_only (rep's JWT with an impersonator),
-- anon (no JWT).
set client_min_messages = warning;
drop schema if exists tests cascade;
create schema tests;
grant usage on schema tests to anon, authenticated, service_role;

create table tests.names (name text primary key, id uuid not null unique);
grant select on tests.names to anon, authenticated, service_role;

create function tests.id(fixture text) returns uuid
language sql stable as $$
  select id from tests.names where name = fixture
$$;

create function tests.name(row_id uuid) returns text
language sql stable as $$
  select coalesce((select name from tests.names where id = row_id), row_id::text)
$$;

-- Names a new uuid (or the given one) and returns it.
create function tests.named(fixture text, row_id uuid default gen_random_uuid()) returns uuid
language sql as $$
  insert into tests.names (name, id) values (fixture, row_id) returning id
$$;

create function tests.create_user(persona text, email text default null) returns uuid
language plpgsql as $$
declare
  new_id uuid := tests.named(persona);
begin
  insert into auth.users (id, aud, role, email, raw_user_meta_data, raw_app_meta_data, created_at)
  values (new_id, 'authenticated', 'authenticated', coalesce(email, persona || '@example.test'),
          jsonb_build_object('full_name', initcap(replace(persona, '_', ' '))),
          '{"provider":"email","providers":["email"]}', now());
  return new_id;
end
$$;

create function tests.add_member(persona text, org text, member_role public.org_role,
                                 team text default null) returns uuid
language plpgsql as $$
declare
  user_id uuid := tests.create_user(persona);
begin
  insert into public.memberships (org_id, user_id, role, team_id)
  values (tests.id(org), user_id, member_role, tests.id(team));
  return user_id;
end
$$;

-- The world every matrix test starts from. Data left by the seed is removed first (inside the
-- test's transaction, so the rollback restores it) so that the expected rows are exact.
create function tests.create_world() returns void
language plpgsql set client_min_messages = warning as $$
begin
  truncate auth.users, public.organizations cascade;
  delete from tests.names;
  insert into public.plans (key, name, price_cents, billing_interval, max_users, max_sims)
  values ('tests_plan', 'Tests', 1000, 'month', 10, 3)
  on conflict (key) do nothing;

  insert into public.organizations (id, name, slug, plan_key)
  values (tests.named('org_a'), 'Org A', 'org-a', 'tests_plan'),
         (tests.named('org_b'), 'Org B', 'org-b', 'tests_plan');
  insert into public.organizations (id, name, slug, plan_key, status, suspended_at)
  values (tests.named('org_c'), 'Org C', 'org-c', 'tests_plan', 'suspended', now());
  insert into public.teams (id, org_id, name, division)
  values (tests.named('team_a1'), tests.id('org_a'), 'A1', 'East'),
         (tests.named('team_a2'), tests.id('org_a'), 'A2', 'West'),
         (tests.named('team_b1'), tests.id('org_b'), 'B1', '');

  perform tests.add_member('rep', 'org_a', 'rep', 'team_a1');
  perform tests.add_member('rep2', 'org_a', 'rep', 'team_a2');
  perform tests.add_member('team_manager', 'org_a', 'team_manager', 'team_a1');
  perform tests.add_member('enterprise_tm', 'org_a', 'enterprise_tm');
  perform tests.add_member('enterprise_admin', 'org_a', 'enterprise_admin');
  perform tests.add_member('other', 'org_b', 'rep', 'team_b1');
  perform tests.add_member('suspended', 'org_c', 'rep');
  perform tests.create_user('platform_admin');
  insert into public.platform_admins (user_id, note) values (tests.id('platform_admin'), 'tests');
  insert into public.team_managers (team_id, user_id, org_id)
  values (tests.id('team_a1'), tests.id('team_manager'), tests.id('org_a'));
end
$$;

create function tests.authenticate_as(persona text) returns void
language plpgsql as $$
declare
  claims jsonb;
begin
  if persona = 'anon' then
    perform set_config('role', 'anon', true);
    perform set_config('request.jwt.claims', '{"role":"anon"}', true);
    return;
  end if;
  claims := jsonb_build_object(
    'sub', tests.id(case when persona = 'read_only' then 'rep' else persona end),
    'role', 'authenticated', 'aud', 'authenticated',
    'email', persona || '@example.test');
  if claims ->> 'sub' is null then
    raise exception 'no persona %', persona;
  end if;
  if persona = 'read_only' then
    claims := claims || jsonb_build_object('impersonator', tests.id('platform_admin'), 'read_only', true);
  end if;
  perform set_config('role', 'authenticated', true);
  perform set_config('request.jwt.claims', claims::text, true);
end
$$;

create function tests.clear_authentication() returns void
language plpgsql as $$
begin
  perform set_config('role', 'none', true);
  perform set_config('request.jwt.claims', '', true);
end
$$;

create function tests.seen(persona text, query text) returns text[]
language plpgsql as $$
declare
  result text[];
begin
  perform tests.authenticate_as(persona);
  execute format('select coalesce(array_agg(v order by v), ''{}'') from (%s) q(v)', query)
    into result;
  perform tests.clear_authentication();
  return result;
end
$$;

create function tests.try_as(persona text, statement text) returns text
language plpgsql as $$
declare
  affected bigint;
  outcome text;
begin
  begin
    perform tests.authenticate_as(persona);
    execute statement;
    get diagnostics affected = row_count;
    -- undo the statement: every probe starts from the same world
    raise exception using errcode = 'TSTOK', message = affected::text;
  exception
    when sqlstate 'TSTOK' then outcome := 'ok ' || sqlerrm;
    when others then outcome := sqlstate || ' ' || sqlerrm;
  end;
  perform tests.clear_authentication();
  return outcome;
end
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;
