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
grant select, insert on tests.names to anon, authenticated, service_role;

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
  insert into public.plans (key, name, price_cents, billing_interval, max_users, max_sims, features)
  values ('tests_plan', 'Tests', 1000, 'month', 10, 3, '{what_if,referral_rules,messaging}')
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

-- Member-owned data on top of the world: SIMs, goals, activities, notes, scenarios, rules.
-- Names: sim_global, sim_a, sim_b; goal_<persona>, act_<persona>, rule_<persona>,
-- scenario_<persona> for rep, rep2, other and suspended; note_rep (rep on themselves) and
-- note_tm (the team manager about the rep).
create function tests.create_member_data() returns void
language plpgsql set client_min_messages = warning as $$
declare
  persona text;
begin
  truncate public.sims cascade;
  insert into public.sims (id, org_id, key, name, industry, average_deal_value_cents, commission_rate)
  values (tests.named('sim_global'), null, 'global', 'Global', 'Real estate', 1000000, 0.03),
         (tests.named('sim_a'), tests.id('org_a'), 'own', 'Org A''s', 'Solar', 3000000, 0.05),
         (tests.named('sim_b'), tests.id('org_b'), 'own', 'Org B''s', 'Solar', 3000000, 0.05);
  insert into public.sim_stages (sim_id, position, key, name, activity_type, conversion_rate)
  select tests.id(s), p.position, p.key, p.name, p.activity_type::public.activity_type, p.rate
    from unnest(array['sim_global', 'sim_a', 'sim_b']) s,
         (values (1, 'call', 'Call', 'call', 0.1), (2, 'appointment', 'Appointment', 'appointment', 0.25),
                 (3, 'deal', 'Deal', 'deal', null)) p(position, key, name, activity_type, rate);
  foreach persona in array array['rep', 'rep2', 'other', 'suspended'] loop
    insert into public.goals (id, user_id, sim_id, income_target_cents, period_kind, period_start)
    values (tests.named('goal_' || persona), tests.id(persona), tests.id('sim_global'), 10000000,
            'year', date '2026-01-01');
    insert into public.activities (id, user_id, goal_id, type, occurred_on, quantity)
    values (tests.named('act_' || persona), tests.id(persona), tests.id('goal_' || persona), 'call',
            date '2026-03-02', 20);
    insert into public.referral_rules (id, user_id, name, referral_close_rate)
    values (tests.named('rule_' || persona), tests.id(persona), 'Referrals', 0.4);
    insert into public.scenarios (id, user_id, name, inputs)
    values (tests.named('scenario_' || persona), tests.id(persona), 'Double it', '{"target": 20000000}');
  end loop;
  insert into public.annotations (id, user_id, author_id, on_date, body)
  values (tests.named('note_rep'), tests.id('rep'), tests.id('rep'), date '2026-03-02', 'Good day'),
         (tests.named('note_tm'), tests.id('rep'), tests.id('team_manager'), date '2026-03-02', 'Call earlier');
end
$$;

-- Messages: thread_tm (team manager -> rep) with msg_tm and the rep's reply msg_rep;
-- thread_ea (enterprise admin -> rep2) with msg_ea.
create function tests.create_messages() returns void
language plpgsql set client_min_messages = warning as $$
begin
  insert into public.message_threads (id, started_by, participant_id, subject)
  values (tests.named('thread_tm'), tests.id('team_manager'), tests.id('rep'), 'Pipeline'),
         (tests.named('thread_ea'), tests.id('enterprise_admin'), tests.id('rep2'), 'Welcome');
  insert into public.messages (id, thread_id, sender_id, body)
  values (tests.named('msg_tm'), tests.id('thread_tm'), tests.id('team_manager'), 'How is it going?'),
         (tests.named('msg_rep'), tests.id('thread_tm'), tests.id('rep'), 'Fine, 20 calls today'),
         (tests.named('msg_ea'), tests.id('thread_ea'), tests.id('enterprise_admin'), 'Welcome aboard');
end
$$;

-- Billing: subscriptions sub_a (org A, active) and sub_c (org C, past due), customers of both,
-- holds hold_a and hold_b, one processed webhook event.
create function tests.create_billing() returns void
language plpgsql set client_min_messages = warning as $$
begin
  insert into public.subscriptions (id, org_id, plan_key, status, stripe_subscription_id, seats)
  values (tests.named('sub_a'), tests.id('org_a'), 'tests_plan', 'active', 'sub_a', 5),
         (tests.named('sub_c'), tests.id('org_c'), 'tests_plan', 'past_due', 'sub_c', 1);
  insert into public.stripe_customers (org_id, stripe_customer_id)
  values (tests.id('org_a'), 'cus_a'), (tests.id('org_c'), 'cus_c');
  insert into public.payment_holds (id, org_id, stripe_payment_intent_id, amount_cents, capture_before)
  values (tests.named('hold_a'), tests.id('org_a'), 'pi_a', 50000, now() + interval '6 days'),
         (tests.named('hold_b'), tests.id('org_b'), 'pi_b', 50000, now() + interval '6 days');
  insert into public.stripe_webhook_events (event_id, type, stripe_created_at)
  values ('evt_fixture', 'invoice.paid', now());
end
$$;

-- Flags: flag_global (csv_export off for all), flag_org_a and flag_org_b (org_dashboard on),
-- flag_rep and flag_rep2 (voice_ai on for that user).
create function tests.create_flags() returns void
language plpgsql set client_min_messages = warning as $$
begin
  insert into public.feature_flags (id, key, scope, org_id, user_id, value)
  values (tests.named('flag_global'), 'csv_export', 'global', null, null, 'false'),
         (tests.named('flag_org_a'), 'org_dashboard', 'org', tests.id('org_a'), null, 'true'),
         (tests.named('flag_org_b'), 'org_dashboard', 'org', tests.id('org_b'), null, 'true'),
         (tests.named('flag_rep'), 'voice_ai', 'user', null, tests.id('rep'), 'true'),
         (tests.named('flag_rep2'), 'voice_ai', 'user', null, tests.id('rep2'), 'true');
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
