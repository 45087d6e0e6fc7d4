-- The admin views show each persona what its policies allow; direct edits of organizations and
-- memberships keep their invariants and are audited.
begin;
select plan(26);
select tests.create_world();

select is(tests.seen(persona, $$select tests.name(org_id) || '/' || tests.name(user_id) || '/' || role from admin_users_by_org$$),
          expected, format('admin_users_by_org: %s sees %s', persona, expected))
  from (values
    ('rep', '{org_a/rep/rep}'::text[]),
    ('team_manager', '{org_a/rep/rep,org_a/team_manager/team_manager}'),
    ('enterprise_admin', '{org_a/enterprise_admin/enterprise_admin,org_a/enterprise_tm/enterprise_tm,org_a/rep/rep,org_a/rep2/rep,org_a/team_manager/team_manager}'),
    ('platform_admin', '{org_a/enterprise_admin/enterprise_admin,org_a/enterprise_tm/enterprise_tm,org_a/rep/rep,org_a/rep2/rep,org_a/team_manager/team_manager,org_b/other/rep,org_c/suspended/rep}'),
    ('other', '{org_b/other/rep}'), ('suspended', '{}'), ('read_only', '{org_a/rep/rep}')
  ) v(persona, expected);
select is(tests.try_as('anon', $$select * from admin_users_by_org$$),
  '42501 permission denied for view admin_users_by_org', 'admin_users_by_org: anon is refused');

select is(tests.seen(persona, $$select tests.name(id) || ':' || members || '/' || seat_limit from admin_organizations$$),
          expected, format('admin_organizations: %s sees %s', persona, expected))
  from (values
    ('rep', '{org_a:1/10}'::text[]), ('enterprise_admin', '{org_a:5/10}'),
    ('platform_admin', '{org_a:5/10,org_b:1/10,org_c:1/10}'), ('suspended', '{org_c:0/10}')
  ) v(persona, expected);
select is(tests.seen(persona, $$select plan_key || '/' || status || ':' || organizations || '/' || members from admin_org_counts$$),
          expected, format('admin_org_counts: %s sees %s', persona, expected))
  from (values
    ('enterprise_admin', '{tests_plan/active:1/5}'::text[]),
    ('platform_admin', '{tests_plan/active:2/6,tests_plan/suspended:1/1}')
  ) v(persona, expected);

-- direct edits, as an admin in the dashboard would make them
update organizations set status = 'suspended', suspended_reason = 'unpaid' where id = tests.id('org_b');
select isnt((select suspended_at from organizations where id = tests.id('org_b')), null,
  'suspending an organization dates the suspension');
update organizations set status = 'active' where id = tests.id('org_c');
select results_eq($$select suspended_at, suspended_reason from organizations where id = tests.id('org_c')$$,
  $$values (null::timestamptz, null::text)$$, 'reactivating clears the suspension');
select results_eq(
  $$select action, before ->> 'status', after ->> 'status' from audit_log
     where target_type = 'organization' and org_id in (tests.id('org_b'), tests.id('org_c')) and action <> 'org.create'
     order by id$$,
  $$values ('org.suspend', 'active', 'suspended'), ('org.reactivate', 'suspended', 'active')$$,
  'suspending and reactivating are audited, even as direct edits');
update organizations set name = 'Renamed' where id = tests.id('org_a');
select is((select count(*)::int from audit_log where org_id = tests.id('org_a') and action like 'org.change%'), 0,
  'a rename is not an audited change');
update organizations set max_users = 20 where id = tests.id('org_a');
select is((select after ->> 'max_users' from audit_log where org_id = tests.id('org_a') and action = 'org.change_plan_or_limits'), '20',
  'changing an organization''s limits is audited');
select is((select count(*)::int from audit_log where action = 'member.add' and org_id = tests.id('org_a')), 5,
  'adding members is audited');
update memberships set role = 'enterprise_admin' where user_id = tests.id('rep2');
select results_eq($$select before ->> 'role', after ->> 'role' from audit_log where action = 'member.change'$$,
  $$values ('rep', 'enterprise_admin')$$, 'a role change is audited with before and after');
select is((select count(*)::int from audit_log where action = 'platform_admin.grant' and target_id = tests.id('platform_admin')::text), 1,
  'granting platform admin is audited');

-- the last enterprise admin stays (rep2 is an enterprise admin too by now)
select throws_ok($$update memberships set role = 'rep' where user_id in (tests.id('enterprise_admin'), tests.id('rep2'))$$,
  '23514', format('organization %s would have no enterprise admin left', tests.id('org_a')),
  'the last enterprise admins cannot all be demoted');
update memberships set role = 'rep' where user_id = tests.id('rep2');
select is((select role::text from memberships where user_id = tests.id('rep2')), 'rep',
  'one of two enterprise admins can step down');
select throws_ok($$delete from memberships where user_id = tests.id('enterprise_admin')$$, '23514',
  format('organization %s would have no enterprise admin left', tests.id('org_a')),
  'the last enterprise admin cannot be removed');
delete from organizations where id = tests.id('org_a');
select is((select count(*)::int from memberships where org_id = tests.id('org_a')), 0,
  'deleting the organization still removes its members');

select * from finish();
rollback;
