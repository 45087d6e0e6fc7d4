-- platform_admins, plans and add_ons × select/insert/update/delete × every persona.
begin;
select plan(57);
select tests.create_world();
delete from add_ons;
insert into add_ons (key, name, price_cents, billing_interval, sim_count)
values ('tests_voice', 'Voice', 500, 'month', 1);

select is(tests.seen(persona, $$select tests.name(user_id) from platform_admins$$), expected,
          format('platform_admins: %s reads %s', persona, expected))
  from (values
    ('rep', '{}'::text[]), ('team_manager', '{}'), ('enterprise_tm', '{}'),
    ('enterprise_admin', '{}'), ('platform_admin', '{platform_admin}'), ('other', '{}'),
    ('suspended', '{}'), ('read_only', '{}'), ('anon', '{}')
  ) v(persona, expected);

select is(tests.try_as(persona,
  $$insert into platform_admins (user_id) values (auth.uid())$$),
  expected, format('platform_admins: %s granting themselves the role gets %s', persona, expected))
  from (values
    ('rep', '42501 new row violates row-level security policy for table "platform_admins"'),
    ('enterprise_admin', '42501 new row violates row-level security policy for table "platform_admins"'),
    ('platform_admin', '42501 new row violates row-level security policy for table "platform_admins"'),
    ('anon', '42501 new row violates row-level security policy for table "platform_admins"')
  ) v(persona, expected);

select is(tests.try_as(persona, $$update platform_admins set note = 'x'$$), expected,
          format('platform_admins: %s editing gets %s', persona, expected))
  from (values ('rep', 'ok 0'), ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('anon', 'ok 0'))
    v(persona, expected);

select is(tests.try_as(persona, $$delete from platform_admins$$), expected,
          format('platform_admins: %s revoking gets %s', persona, expected))
  from (values ('rep', 'ok 0'), ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('anon', 'ok 0'))
    v(persona, expected);

select is(tests.seen(persona, $$select key from plans where key = 'tests_plan' union all select key from add_ons$$),
          '{tests_plan,tests_voice}'::text[], format('plans and add-ons: %s reads the catalogue', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin',
                    'other', 'suspended', 'read_only', 'anon']) persona;

select is(tests.try_as(persona, $$insert into plans (key, name, price_cents, billing_interval, max_users, max_sims) values ('free_lunch', 'Free', 0, 'month', 999, 99)$$),
          '42501 new row violates row-level security policy for table "plans"',
          format('plans: %s cannot add a plan', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin', 'other', 'suspended', 'read_only', 'anon']) persona;
select is(tests.try_as(persona, $$update plans set price_cents = 0$$), 'ok 0',
          format('plans: %s cannot change a price', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin', 'other', 'suspended', 'read_only', 'anon']) persona;
select is(tests.try_as(persona, $$delete from add_ons$$), 'ok 0',
          format('add_ons: %s cannot delete an add-on', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin', 'other', 'suspended', 'read_only', 'anon']) persona;

select * from finish();
rollback;
