-- admin_set_flag × every persona: only a platform admin in their own session sets or removes a
-- flag, at each scope; each change is audited once with the admin as actor; bad targets refused.
begin;
select plan(22);
select tests.create_world();

select is(tests.try_as(persona, $$select admin_set_flag('voice_ai', 'org', tests.id('org_b'), 'true')$$),
  '42501 only a platform admin in their own session sets flags',
  format('admin_set_flag: %s is refused', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'other', 'suspended',
                    'read_only']) persona;
select is(tests.try_as('anon', $$select admin_set_flag('voice_ai', 'global')$$),
  '42501 permission denied for function admin_set_flag', 'admin_set_flag: anon may not call it');
select is((select count(*) from feature_flags), 0::bigint, 'the refused calls set nothing');

select tests.authenticate_as('platform_admin');
select is(admin_set_flag('voice_ai', 'global', null, 'true') -> 'flag' ->> 'value', 'true', 'a platform admin sets a global flag');
select is(admin_set_flag('voice_ai', 'org', tests.id('org_b'), 'false') -> 'flag' ->> 'org_id',
  tests.id('org_b')::text, 'an org flag');
select is(admin_set_flag('voice_ai', 'user', tests.id('rep'), 'false') -> 'flag' ->> 'user_id',
  tests.id('rep')::text, 'a user flag');
select is(admin_set_flag('voice_ai', 'user', tests.id('rep'), 'true') -> 'flag' ->> 'value', 'true',
  'setting it again changes the one value');
select is(admin_set_flag('voice_ai', 'org', tests.id('org_b')) -> 'removed' ->> 'value', 'false',
  'no value removes the flag');
select is(admin_set_flag('voice_ai', 'org', tests.id('org_b')) -> 'removed', 'null'::jsonb,
  'removing an absent flag removes nothing');
select throws_ok($$select admin_set_flag('free_money', 'global', null, 'true')$$, '22023',
  'no feature named free_money', 'an unknown feature is refused');
select throws_ok($$select admin_set_flag('voice_ai', 'org', null, 'true')$$, '22023',
  'an org or user flag needs its target', 'an org flag needs its organization');
select throws_ok($$select admin_set_flag('voice_ai', 'global', tests.id('org_a'), 'true')$$, '22023',
  'a global flag takes no target', 'a global flag takes no target');
select throws_ok(format($$select admin_set_flag('voice_ai', 'user', %L, 'true')$$, gen_random_uuid()),
  '23503', null, 'a user flag names an existing user');
select tests.clear_authentication();

select results_eq(
  $$select action, scope, actor_id, impersonator_id, before ->> 'value', after ->> 'value'
      from audit_log
     where target_type = 'feature_flag' and actor_id = tests.id('platform_admin') order by id$$,
  $$values ('flag.set', 'global', tests.id('platform_admin'), null::uuid, null, 'true'),
           ('flag.set', 'org', tests.id('platform_admin'), null, null, 'false'),
           ('flag.set', 'user', tests.id('platform_admin'), null, null, 'false'),
           ('flag.set', 'user', tests.id('platform_admin'), null, 'false', 'true'),
           ('flag.unset', 'org', tests.id('platform_admin'), null, 'false', null)$$,
  'each change wrote one audit row naming the platform admin');
select is(private.flag_value('voice_ai', tests.id('rep')), 'true'::jsonb, 'the rep''s own value decides');
select is(private.flag_value('voice_ai', tests.id('other')), 'true'::jsonb, 'the global value decides once the org''s is gone');

select * from finish();
rollback;
