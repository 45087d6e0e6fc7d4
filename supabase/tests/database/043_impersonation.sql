-- admin_start_impersonation and admin_end_impersonation × every persona: only a platform admin in
-- their own session starts (with a reason, never as another platform admin) and ends them, each
-- audited once in the same transaction; impersonation_sessions read by platform admins only; an
-- impersonated session reads as its user and writes nothing.
begin;
select plan(40);
select tests.create_world();
select tests.create_member_data();

select is(tests.try_as(persona, $$select admin_start_impersonation(tests.id('rep'), 'ticket 42: goals look wrong')$$),
  expected, format('starting to impersonate the rep: %s gets %s', persona, expected))
  from (values
    ('rep', '42501 only a platform admin in their own session impersonates'),
    ('team_manager', '42501 only a platform admin in their own session impersonates'),
    ('enterprise_tm', '42501 only a platform admin in their own session impersonates'),
    ('enterprise_admin', '42501 only a platform admin in their own session impersonates'),
    ('other', '42501 only a platform admin in their own session impersonates'),
    ('suspended', '42501 only a platform admin in their own session impersonates'),
    ('read_only', '42501 only a platform admin in their own session impersonates'),
    ('platform_admin', 'ok 1'),
    ('anon', '42501 permission denied for function admin_start_impersonation')
  ) v(persona, expected);
select is((select count(*) from audit_log where action like 'impersonation.%'), 0::bigint,
  'the probes left no audit entry');
select is((select count(*) from impersonation_sessions), 0::bigint, 'nor a session');

-- ## A platform admin starts and ends one
select tests.authenticate_as('platform_admin');
select tests.named('session', (admin_start_impersonation(tests.id('rep'), '  ticket 42: goals look wrong ') -> 'session' ->> 'id')::uuid);
select tests.clear_authentication();
select results_eq(
  $$select admin_id, user_id, reason, expires_at - started_at, ended_at from impersonation_sessions$$,
  $$values (tests.id('platform_admin'), tests.id('rep'), 'ticket 42: goals look wrong', interval '15 minutes', null::timestamptz)$$,
  'the session names who, whom, why, and lasts 15 minutes');
select results_eq(
  $$select action, scope, org_id, actor_id, target_id, after ->> 'reason' from audit_log where action like 'impersonation.%'$$,
  $$values ('impersonation.start', 'user', tests.id('org_a'), tests.id('platform_admin'), tests.id('rep')::text,
            'ticket 42: goals look wrong')$$,
  'starting is audited once, for the rep''s organization');

select is(tests.try_as(persona, $$select admin_end_impersonation(tests.id('session'))$$),
  expected, format('ending it: %s gets %s', persona, expected))
  from (values
    ('rep', '42501 only a platform admin in their own session ends impersonations'),
    ('enterprise_admin', '42501 only a platform admin in their own session ends impersonations'),
    ('read_only', '42501 only a platform admin in their own session ends impersonations'),
    ('anon', '42501 permission denied for function admin_end_impersonation')
  ) v(persona, expected);
insert into platform_admins (user_id, note) values (tests.create_user('second_admin'), 'tests');
select is(tests.try_as('second_admin', $$select admin_end_impersonation(tests.id('session'))$$),
  format('22023 no impersonation session %s of yours', tests.id('session')),
  'another platform admin does not end it');

select tests.authenticate_as('platform_admin');
select is(admin_end_impersonation(tests.id('session')) ->> 'changed', 'true', 'the admin ends it');
select is(admin_end_impersonation(tests.id('session')) ->> 'changed', 'false', 'ending it again changes nothing');
select tests.clear_authentication();
select results_eq(
  $$select action, before ->> 'ended_at' is null, after ->> 'ended_at' is null from audit_log
     where action like 'impersonation.%' order by id$$,
  $$values ('impersonation.start', true, true), ('impersonation.end', true, false)$$,
  'ending is audited once, with the session before and after');

-- ## Refusals
select tests.authenticate_as('platform_admin');
select throws_ok($$select admin_start_impersonation(tests.id('second_admin'), 'checking their view')$$, '42501',
  'platform admins are never impersonated', 'another platform admin is never impersonated');
select throws_ok($$select admin_start_impersonation(tests.id('platform_admin'), 'checking my own view')$$, '42501',
  'platform admins are never impersonated', 'nor oneself');
select throws_ok($$select admin_start_impersonation(tests.id('rep'), '   short  ')$$, '22023',
  'give the reason in 10 to 500 characters', 'a reason is required');
select throws_ok($$select admin_start_impersonation(tests.id('rep'), null)$$, '22023',
  'give the reason in 10 to 500 characters', 'a missing reason too');
select throws_ok(format($$select admin_start_impersonation(%L, 'ticket 43: who is this')$$, gen_random_uuid()),
  '22023', null, 'an unknown user is refused');
select tests.clear_authentication();
select is((select count(*) from audit_log where action like 'impersonation.%'), 2::bigint,
  'the refusals wrote nothing');

-- ## impersonation_sessions: platform admins read, nobody writes
select is(tests.seen(persona, $$select tests.name(user_id) from impersonation_sessions$$), expected,
          format('impersonation_sessions: %s reads %s', persona, expected))
  from (values
    ('rep', '{}'::text[]), ('team_manager', '{}'), ('enterprise_tm', '{}'), ('enterprise_admin', '{}'),
    ('platform_admin', '{rep}'), ('other', '{}'), ('suspended', '{}'), ('read_only', '{}'), ('anon', '{}')
  ) v(persona, expected);
select is(tests.try_as('platform_admin', $$update impersonation_sessions set ended_at = null$$), 'ok 0',
  'impersonation_sessions: not even a platform admin edits a session directly');
select is(tests.try_as('platform_admin', $$delete from audit_log where action like 'impersonation.%'$$),
  '42501 permission denied for table audit_log', 'nor its audit entries');

-- ## The impersonated session (read_only: the rep's token with the admin as impersonator)
select is(tests.seen('read_only', $$select tests.name(id) from goals$$), tests.seen('rep', $$select tests.name(id) from goals$$),
  'it reads the rep''s goals as the rep does');
select is(tests.try_as('read_only', $$update goals set income_target_cents = 1 where id = tests.id('goal_rep')$$), 'ok 0',
  'and changes none');

select * from finish();
rollback;
