-- features and feature_flags × select/insert/update/delete × every persona; resolution order;
-- every flag change audited.
begin;
select plan(64);
select tests.create_world();
select tests.create_flags();

select is(tests.seen(persona, $$select tests.name(id) from feature_flags$$), expected,
          format('feature_flags: %s reads %s', persona, expected))
  from (values
    ('rep', '{flag_global,flag_org_a,flag_rep}'::text[]), ('rep2', '{flag_global,flag_org_a,flag_rep2}'),
    ('team_manager', '{flag_global,flag_org_a}'), ('enterprise_tm', '{flag_global,flag_org_a}'),
    ('enterprise_admin', '{flag_global,flag_org_a,flag_rep,flag_rep2}'),
    ('platform_admin', '{flag_global,flag_org_a,flag_org_b,flag_rep,flag_rep2}'),
    ('other', '{flag_global,flag_org_b}'), ('suspended', '{}'),
    ('read_only', '{flag_global,flag_org_a,flag_rep}'), ('anon', '{}')
  ) v(persona, expected);

select is(tests.try_as(persona, $$insert into feature_flags (key, scope, user_id, value) values ('voice_ai', 'user', auth.uid(), 'true')$$),
  '42501 new row violates row-level security policy for table "feature_flags"',
  format('feature_flags: %s cannot set a flag through the API', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin',
                    'other', 'suspended', 'read_only', 'anon']) persona;
select is(tests.try_as(persona, $$update feature_flags set value = 'true'$$), 'ok 0',
  format('feature_flags: %s cannot change a flag through the API', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin',
                    'other', 'suspended', 'read_only', 'anon']) persona;
select is(tests.try_as(persona, $$delete from feature_flags$$), 'ok 0',
  format('feature_flags: %s cannot delete a flag through the API', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin',
                    'other', 'suspended', 'read_only', 'anon']) persona;

select is(tests.seen(persona, $$select count(*)::text from features$$), expected,
          format('features: %s reads %s of them', persona, description))
  from (values ('rep', array[(select count(*)::text from features)], 'every one'),
               ('platform_admin', array[(select count(*)::text from features)], 'every one'),
               ('anon', '{0}', 'none')) v(persona, expected, description);
select is(tests.try_as(persona, $$insert into features (key, description) values ('free_money', 'x')$$),
  '42501 new row violates row-level security policy for table "features"',
  format('features: %s cannot add a feature', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin', 'other', 'suspended', 'read_only', 'anon']) persona;

-- resolution: user over org over global over plan over the feature's default
select is(private.flag_value('voice_ai', tests.id('rep')), 'true'::jsonb, 'a user flag decides for that user');
select is(private.flag_value('voice_ai', tests.id('team_manager')), 'false'::jsonb, 'without flags or plan, the feature''s default decides');
select is(private.flag_value('org_dashboard', tests.id('rep')), 'true'::jsonb, 'an org flag decides for its members');
select is(private.flag_value('csv_export', tests.id('rep')), 'false'::jsonb, 'a global flag overrides the feature''s default');
select is(private.flag_value('what_if', tests.id('rep')), 'true'::jsonb, 'the plan''s features turn a feature on');
insert into feature_flags (key, scope, org_id, value) values ('what_if', 'org', tests.id('org_a'), 'false');
select is(private.flag_value('what_if', tests.id('rep')), 'false'::jsonb, 'an org flag overrides the plan');
insert into feature_flags (key, scope, user_id, value) values ('what_if', 'user', tests.id('rep'), 'true');
select is(private.flag_value('what_if', tests.id('rep')), 'true'::jsonb, 'a user flag overrides the org flag');
insert into add_ons (key, name, price_cents, billing_interval, features) values ('tests_voice', 'Voice', 1, 'month', '{voice_ai}')
  on conflict (key) do update set features = excluded.features;
insert into subscriptions (id, org_id, plan_key, status) values (tests.named('sub_b'), tests.id('org_b'), 'tests_plan', 'active');
insert into subscription_add_ons (subscription_id, add_on_key) values (tests.id('sub_b'), 'tests_voice');
select is(private.flag_value('voice_ai', tests.id('other')), 'true'::jsonb, 'a paid add-on turns its features on');
update subscriptions set status = 'canceled' where id = tests.id('sub_b');
select is(private.flag_value('voice_ai', tests.id('other')), 'false'::jsonb, 'a cancelled subscription''s add-on no longer does');

select tests.authenticate_as('rep');
select results_eq($$select key, value from resolved_feature_flags() where key in ('csv_export', 'what_if')$$,
  $$values ('csv_export', 'false'::jsonb), ('what_if', 'true'::jsonb)$$,
  'resolved_feature_flags gives the caller every feature''s value');
select tests.clear_authentication();
select tests.authenticate_as('anon');
select throws_ok($$select * from resolved_feature_flags()$$, '42501', null, 'anon cannot resolve flags');
select tests.clear_authentication();

select results_eq(
  $$select action, scope, tests.name(org_id), before ->> 'value', after ->> 'value' from audit_log
     where target_type = 'feature_flag' and target_id like 'what_if%' order by id$$,
  $$values ('flag.set', 'org', 'org_a', null, 'false'), ('flag.set', 'user', 'org_a', null, 'true')$$,
  'every flag change writes an audit entry with before and after');
update feature_flags set value = 'false' where key = 'csv_export';
delete from feature_flags where key = 'csv_export';
select results_eq(
  $$select action, before ->> 'value', after ->> 'value' from audit_log where target_id = 'csv_export' order by id$$,
  $$values ('flag.set', null, 'false'), ('flag.set', 'false', 'false'), ('flag.unset', 'false', null)$$,
  'changing and removing a flag are audited too');
select throws_ok($$insert into feature_flags (key, scope, org_id, value) values ('what_if', 'user', tests.id('org_a'), 'true')$$,
  '23514', null, 'a flag names exactly the target of its scope');
select throws_ok($$insert into feature_flags (key, scope, value) values ('csv_export', 'global', 'true'), ('csv_export', 'global', 'false')$$,
  '23505', null, 'one value per feature and target');

select * from finish();
rollback;
