-- session_context(): who may call it, the whole context of a member, and the access every
-- persona and every plan case gets (suspended, over the seat or SIM limit, lapsed, in grace,
-- platform admins with and without an organization, a user not yet in an organization).
begin;
select plan(71);
select tests.create_world();
select tests.create_flags();

-- The context `persona` gets, as PostgREST would call it with their token.
create function pg_temp.context(persona text) returns jsonb
language plpgsql as $$
declare
  result jsonb;
begin
  perform tests.authenticate_as(persona);
  result := public.session_context();
  perform tests.clear_authentication();
  return result;
end
$$;
create function pg_temp.access(persona text) returns jsonb
language sql as $$ select pg_temp.context(persona) -> 'access' $$;
-- The access `persona` would get if they were also a platform admin.
create function pg_temp.access_as_platform_admin(persona text) returns jsonb
language plpgsql as $$
declare
  result jsonb;
begin
  insert into public.platform_admins (user_id) values (tests.id(persona));
  result := pg_temp.access(persona);
  delete from public.platform_admins where user_id = tests.id(persona);
  return result;
end
$$;
create function pg_temp.expected(mode text, reason text, warnings text[] default '{}') returns jsonb
language sql immutable as $$
  select jsonb_build_object('mode', mode, 'reason', reason, 'warnings', to_jsonb(warnings))
$$;
create function pg_temp.subscribe(org text, status text, grace_until timestamptz default null) returns void
language sql as $$
  insert into public.subscriptions (org_id, plan_key, status, grace_until)
  values (tests.id(org), 'tests_plan', status, grace_until)
  on conflict (org_id) do update set status = excluded.status, grace_until = excluded.grace_until
$$;
-- Joining order of org A, for the seat cases: rep, rep2, team_manager, enterprise_tm, then
-- enterprise_admin last (who still gets the first seat).
update memberships m set created_at = timestamptz '2026-01-01' + j.position * interval '1 day'
  from (values ('rep', 1), ('rep2', 2), ('team_manager', 3), ('enterprise_tm', 4),
               ('enterprise_admin', 5)) j(persona, position)
 where m.user_id = tests.id(j.persona);

-- ## Who may call it
select is(has_function_privilege(role, 'public.session_context()', 'execute'), allowed,
          format('%s %s execute session_context()', role, case when allowed then 'may' else 'may not' end))
  from (values ('anon', false), ('authenticated', true)) v(role, allowed);
select is(tests.try_as('anon', $$select public.session_context()$$),
          '42501 permission denied for function session_context', 'anon is refused');
select tests.named('ghost');  -- a user id with no auth user behind it
select is(tests.try_as('ghost', $$select public.session_context()$$),
          '42501 session_context needs a signed-in user',
          'a token whose user no longer exists is refused');

-- ## The whole context of a rep
select is(pg_temp.context('rep'),
          jsonb_build_object(
            'user', jsonb_build_object('id', tests.id('rep'), 'email', 'rep@example.test',
                                       'display_name', 'Rep', 'time_zone', 'UTC'),
            'platform_admin', false,
            'role', 'rep',
            'org', jsonb_build_object('id', tests.id('org_a'), 'name', 'Org A', 'status', 'active'),
            'teams', jsonb_build_array(tests.id('team_a1')),
            'plan', jsonb_build_object('key', 'tests_plan', 'name', 'Tests', 'max_users', 10,
                                       'max_sims', 3, 'users', 5, 'sims', 0),
            'flags', (select jsonb_object_agg(key, value) from (
                        select f.key, private.flag_value(f.key, tests.id('rep')) value
                          from features f) flags),
            'access', pg_temp.expected('full', null)),
          'a rep gets their user, role, organization, team, plan with its use, flags and full access');
select is(pg_temp.context('rep') -> 'flags' -> 'voice_ai', 'true'::jsonb,
          'flags are resolved for the caller (a user flag turns voice_ai on for the rep)');
select is(pg_temp.context('rep') -> 'flags' -> 'csv_export', 'false'::jsonb,
          'and a global flag beats the plan (csv_export off for everyone)');

-- ## Every persona of an organization in good standing
select is(pg_temp.context(persona) -> 'role', to_jsonb(expected_role),
          format('%s has the role %s', persona, expected_role))
  from (values ('rep', 'rep'), ('rep2', 'rep'), ('team_manager', 'team_manager'),
               ('enterprise_tm', 'enterprise_tm'), ('enterprise_admin', 'enterprise_admin'),
               ('other', 'rep')) v(persona, expected_role);
select is(array(select tests.name(t::uuid) from jsonb_array_elements_text(pg_temp.context(persona) -> 'teams') t order by 1),
          expected, format('%s: teams %s', persona, expected))
  from (values ('rep', '{team_a1}'::text[]), ('rep2', '{team_a2}'), ('team_manager', '{team_a1}'),
               ('enterprise_tm', '{team_a1,team_a2}'), ('enterprise_admin', '{team_a1,team_a2}'),
               ('other', '{team_b1}'), ('platform_admin', '{}')) v(persona, expected);
select is(pg_temp.access(persona), pg_temp.expected('full', null), format('%s: full access', persona))
  from unnest(array['rep', 'rep2', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'other']) persona;

-- ## Platform admins, without and with an organization
select is(pg_temp.context('platform_admin') - 'user' - 'flags',
          jsonb_build_object('platform_admin', true, 'role', null, 'org', null, 'teams', '[]'::jsonb,
                             'plan', null, 'access', pg_temp.expected('full', null)),
          'a platform admin without an organization: full, no org, role, plan or teams');

-- ## A user not yet in an organization
select tests.create_user('newcomer');
select is(pg_temp.context('newcomer') - 'user' - 'flags',
          jsonb_build_object('platform_admin', false, 'role', null, 'org', null, 'teams', '[]'::jsonb,
                             'plan', null, 'access', pg_temp.expected('full', null)),
          'a user who signed up and is in no organization yet: full access, org null');
select is(pg_temp.context('newcomer') -> 'user' ->> 'email', 'newcomer@example.test', 'and their user');

-- ## Suspended organization
select is(pg_temp.access('suspended'), pg_temp.expected('refused', 'org_suspended'),
          'a member of a suspended organization is refused: org_suspended');
select is(pg_temp.context('suspended') -> 'org' ->> 'status', 'suspended', 'and sees why in org.status');
insert into memberships (org_id, user_id, role) values (tests.id('org_c'), tests.id('platform_admin'), 'rep');
select is(pg_temp.access('platform_admin'), pg_temp.expected('full', null, '{org_suspended}'),
          'a platform admin in a suspended organization still gets in (with the warning)');
delete from memberships where user_id = tests.id('platform_admin');

-- ## More members than seats (an override shrinks org A from 10 seats to 3; it has 5 members)
update organizations set max_users = 3 where id = tests.id('org_a');
select is(pg_temp.context('rep') -> 'plan' -> 'users', '5'::jsonb, 'the plan shows the members counted');
select is(pg_temp.context('rep') -> 'plan' -> 'max_users', '3'::jsonb, 'and the organization''s own limit');
select is(pg_temp.access(persona), expected, format('over the seat limit: %s gets %s', persona, expected))
  from (values
    ('enterprise_admin', pg_temp.expected('full', null, '{seat_limit_exceeded}')),
    ('rep', pg_temp.expected('full', null, '{seat_limit_exceeded}')),
    ('rep2', pg_temp.expected('full', null, '{seat_limit_exceeded}')),
    ('team_manager', pg_temp.expected('refused', 'seat_limit_exceeded')),
    ('enterprise_tm', pg_temp.expected('refused', 'seat_limit_exceeded'))
  ) v(persona, expected);
update organizations set max_users = 1 where id = tests.id('org_a');
update memberships set role = 'enterprise_admin' where user_id = tests.id('enterprise_tm');
select is(pg_temp.access(persona), pg_temp.expected('full', null, '{seat_limit_exceeded}'),
          format('%s, an enterprise admin beyond the limit, always gets in with the warning', persona))
  from unnest(array['enterprise_admin', 'enterprise_tm']) persona;
select is(pg_temp.access('rep'), pg_temp.expected('refused', 'seat_limit_exceeded'),
          'seats go to enterprise admins first: the earliest rep is then beyond a limit of one');
select is(pg_temp.access_as_platform_admin('rep2'), pg_temp.expected('full', null, '{seat_limit_exceeded}'),
          'a platform admin beyond the seat limit is never locked out');
update memberships set role = 'enterprise_tm' where user_id = tests.id('enterprise_tm');
update organizations set max_users = null where id = tests.id('org_a');

-- ## More SIMs than the limit
insert into sims (org_id, key, name, industry, average_deal_value_cents)
select tests.id('org_a'), 'own_' || i, 'Own ' || i, 'Solar', 100000 from generate_series(1, 2) i;
update organizations set max_sims = 1 where id = tests.id('org_a');
select is(pg_temp.context('rep') -> 'plan' -> 'sims', '2'::jsonb, 'the plan shows the available SIMs owned');
select is(pg_temp.access(persona), pg_temp.expected('full', null, '{sim_limit_exceeded}'),
          format('over the SIM limit: %s keeps full access with a warning', persona))
  from unnest(array['rep', 'enterprise_admin']) persona;
update organizations set max_sims = null where id = tests.id('org_a');

-- ## Billing: the subscription's standing
select is(private.subscription_standing(status, grace), expected,
          format('a subscription %s with grace_until %s is %s', coalesce(status, '(none)'), coalesce('now ' || grace_offset, 'unset'), expected))
  from (values
    (null, null, 'paid'), ('active', null, 'paid'), ('trialing', null, 'paid'), ('incomplete', null, 'paid'),
    ('active', '-1 day', 'paid'),
    ('past_due', null, 'in_grace'), ('past_due', '+1 day', 'in_grace'), ('past_due', '-1 second', 'lapsed'),
    ('unpaid', '+1 day', 'in_grace'), ('unpaid', null, 'lapsed'), ('unpaid', '-1 day', 'lapsed'),
    ('canceled', null, 'lapsed'), ('canceled', '+1 day', 'in_grace'),
    ('incomplete_expired', null, 'lapsed'), ('paused', null, 'lapsed')
  ) v(status, grace_offset, expected),
  lateral (select now() + grace_offset::interval as grace) g;

-- In grace: payment failed, grace_until ahead.
select pg_temp.subscribe('org_a', 'past_due', now() + interval '3 days');
select is(pg_temp.access(persona), pg_temp.expected('full', null, '{payment_failed_in_grace}'),
          format('in grace: %s keeps full access with the warning', persona))
  from unnest(array['rep', 'enterprise_admin']) persona;

-- Unpaid past grace.
select pg_temp.subscribe('org_a', 'past_due', now() - interval '1 minute');
select is(pg_temp.access(persona), pg_temp.expected('read_only', 'payment_required'),
          format('unpaid past grace: %s gets a read-only session (payment_required)', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin']) persona;
select pg_temp.subscribe('org_a', 'canceled');
select is(pg_temp.access('rep'), pg_temp.expected('read_only', 'payment_required'),
          'a canceled subscription leaves no paid plan in force: read-only too');
select is(pg_temp.access_as_platform_admin('rep2'), pg_temp.expected('full', null, '{payment_required}'),
          'a platform admin in a lapsed organization keeps full access (with the warning)');

-- The strongest restriction wins; the others are warnings.
update organizations set max_users = 3 where id = tests.id('org_a');
select is(pg_temp.access('enterprise_tm'), pg_temp.expected('refused', 'seat_limit_exceeded', '{payment_required}'),
          'beyond the seat limit in a lapsed organization: refused for the seat, payment as a warning');
select is(pg_temp.access('enterprise_admin'), pg_temp.expected('read_only', 'payment_required', '{seat_limit_exceeded}'),
          'the enterprise admin: read-only for the payment, the seats as a warning');

select * from finish();
rollback;
