-- The admin RPCs for members and organizations × every persona: platform admins act anywhere in
-- their own session; an enterprise admin only in their own organization and only when
-- member_admin resolves to true for them (tests_plan lacks it; an org flag grants it); everyone
-- else, an impersonation of either, and anon are refused. Each action writes one audit entry.
begin;
select plan(108);
select tests.create_world();
select tests.create_user('newcomer');
-- Entries written before this file (other tests' data) are not this file's business.
create temp table audit_start as select coalesce(max(id), 0) as id from audit_log;

-- A platform admin's own JWT carrying an impersonator: a read-only session.
create function pg_temp.as_impersonated_admin() returns void language sql as $$
  select tests.authenticate_as('platform_admin');
  select set_config('request.jwt.claims',
    (current_setting('request.jwt.claims')::jsonb
      || jsonb_build_object('impersonator', tests.id('platform_admin'), 'read_only', true))::text, true);
$$;

create function pg_temp.entries(action_name text) returns bigint language sql as $$
  select count(*) from audit_log where id > (select id from audit_start) and action = action_name
$$;

-- ## Who may call at all
select is(left(tests.try_as(persona, call), 5), '42501', format('%s: %s is refused', persona, left(call, 40)))
  from unnest(array['rep', 'rep2', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'other',
                    'suspended', 'read_only']) persona,
       unnest(array[
         $$select admin_list_users()$$,
         format($$select admin_move_member_to_team(%L, %L)$$, tests.id('rep'), tests.id('team_a2')),
         format($$select admin_set_member_role(%L, 'team_manager')$$, tests.id('rep')),
         format($$select admin_move_member_to_org(%L, %L)$$, tests.id('rep'), tests.id('org_b')),
         $$select admin_create_org('New', 'new-co', 'team', 'tests_plan', 'newcomer@example.test')$$,
         format($$select admin_set_org_status(%L, 'suspended', 'abuse')$$, tests.id('org_b'))]) call
 where persona <> 'enterprise_admin' or call not like '%admin_list_users%';
select is(tests.try_as('anon', $$select admin_list_users()$$),
  '42501 permission denied for function admin_list_users', 'anon may not call admin_list_users');
select is(tests.try_as('anon', $$select admin_create_org('New', 'new-co', 'team', 'tests_plan', 'x@y.z')$$),
  '42501 permission denied for function admin_create_org', 'anon may not call admin_create_org');
select is(tests.try_as('enterprise_admin', $$select admin_list_users()$$),
  '42501 only platform admins and enterprise admins whose plan allows it list members',
  'an enterprise admin whose plan lacks member_admin lists nothing');

select pg_temp.as_impersonated_admin();
select throws_ok($$select admin_list_users()$$, '42501', null, 'an impersonation session of a platform admin lists nothing');
select throws_ok(format($$select admin_set_org_status(%L, 'suspended', 'abuse')$$, tests.id('org_b')),
  '42501', null, 'and suspends nothing');
select tests.clear_authentication();
select is((select count(*) from audit_log where id > (select id from audit_start) and actor_id is not null), 0::bigint, 'the refused calls wrote nothing');

-- ## Listing (platform admin: every organization)
select tests.authenticate_as('platform_admin');
select is(admin_list_users() -> 'total', '7'::jsonb, 'a platform admin sees every member');
select is((select array_agg(u ->> 'full_name') from jsonb_array_elements(admin_list_users(search => 'REP') -> 'users') u),
  array['Rep', 'Rep2'], 'search by part of the name or e-mail, any case');
select is((select array_agg(u ->> 'email') from jsonb_array_elements(admin_list_users(search => 'e_t') -> 'users') u),
  array['enterprise_tm@example.test'], '_ in the search is a character, not a wildcard');
select is(admin_list_users(search => '%') -> 'total', '0'::jsonb, '% in the search is a character too');
select is(admin_list_users(org => tests.id('org_a')) -> 'total', '5'::jsonb, 'filter by organization');
select is(admin_list_users(member_role => 'enterprise_admin') -> 'users' -> 0 ->> 'email',
  'enterprise_admin@example.test', 'filter by role');
select is((select array_agg(u ->> 'full_name') from jsonb_array_elements(admin_list_users(team => tests.id('team_a1')) -> 'users') u),
  array['Rep', 'Team Manager'], 'filter by team');
select is(admin_list_users(organization_status => 'suspended') -> 'users' -> 0 ->> 'full_name', 'Suspended',
  'filter by the organization''s status');
select is((select array_agg(u ->> 'full_name') from jsonb_array_elements(admin_list_users(page_size => 2, page_offset => 2) -> 'users') u),
  array['Other', 'Rep'], 'the second page of two by name');
select is(admin_list_users(page_size => 2, page_offset => 2) -> 'total', '7'::jsonb, 'with the total of all pages');
select is(admin_list_users(sort => 'email', descending => true) -> 'users' -> 0 ->> 'email',
  'team_manager@example.test', 'sorted by e-mail, descending');
select is(admin_list_users(sort => 'role', descending => true, page_size => 1) -> 'users' -> 0 ->> 'role',
  'enterprise_admin', 'sorted by role');
select is(jsonb_typeof(admin_list_users(sort => 'team') -> 'users' -> 0 -> 'team_name'), 'string',
  'sorted by team, teamless members last');
select throws_ok($$select admin_list_users(sort => 'salary')$$, '22023', null, 'an unknown sort is refused');
select throws_ok($$select admin_list_users(page_size => 201)$$, '22023', null, 'a page of 201 is refused');
select tests.clear_authentication();

-- ## Listing (enterprise admin with member_admin: their organization only)
insert into feature_flags (key, scope, org_id, value) values ('member_admin', 'org', tests.id('org_a'), 'true');
select tests.authenticate_as('enterprise_admin');
select is(admin_list_users() -> 'total', '5'::jsonb, 'an enterprise admin with member_admin sees their organization');
select throws_ok(format($$select admin_list_users(org => %L)$$, tests.id('org_b')), '42501',
  'an enterprise admin lists their own organization only', 'and is refused another organization');
select tests.clear_authentication();
select is(left(tests.try_as('enterprise_tm', $$select admin_list_users()$$), 5), '42501',
  'member_admin does not make an enterprise TM an admin');

-- ## Team and role (enterprise admin in their organization, platform admin anywhere)
select tests.authenticate_as('enterprise_admin');
select is(admin_move_member_to_team(tests.id('rep2'), tests.id('team_a1')) -> 'member' ->> 'team_id',
  tests.id('team_a1')::text, 'an enterprise admin moves a member to another team of their organization');
select is(admin_move_member_to_team(tests.id('rep2'), tests.id('team_a1')) -> 'changed', 'false'::jsonb,
  'moving them where they are changes nothing');
select throws_ok(format($$select admin_move_member_to_team(%L, %L)$$, tests.id('rep2'), tests.id('team_b1')),
  '22023', null, 'a team of another organization is refused');
select throws_ok(format($$select admin_move_member_to_team(%L, null)$$, tests.id('other')),
  '42501', null, 'a member of another organization is refused');
select is(admin_set_member_role(tests.id('rep2'), 'team_manager') -> 'member' ->> 'role', 'team_manager',
  'an enterprise admin changes a role in their organization');
select throws_ok(format($$select admin_set_member_role(%L, 'rep')$$, tests.id('enterprise_admin')),
  '23514', null, 'the last enterprise admin keeps their role');
select throws_ok(format($$select admin_move_member_to_org(%L, %L)$$, tests.id('rep'), tests.id('org_b')),
  '42501', null, 'an enterprise admin moves nobody to another organization');
select is(admin_set_member_role(gen_random_uuid(), 'rep'), null, 'an unknown member is null (404)');
select tests.clear_authentication();
select is(pg_temp.entries('member.move_team'), 1::bigint, 'one entry for the team move');
select results_eq(
  $$select actor_id, org_id, target_id, before ->> 'role', after ->> 'role' from audit_log where id > (select id from audit_start) and action = 'member.change_role'$$,
  $$values (tests.id('enterprise_admin'), tests.id('org_a'), tests.id('rep2')::text, 'rep', 'team_manager')$$,
  'one entry for the role change, with actor, target, before and after');
select is((select count(*) from audit_log where id > (select id from audit_start) and actor_id is not null and action not in ('member.move_team', 'member.change_role')),
  0::bigint, 'and no trigger entry besides');

select tests.authenticate_as('platform_admin');
select is(admin_move_member_to_team(tests.id('other'), null) -> 'member' -> 'team_id', 'null'::jsonb,
  'a platform admin moves a member of any organization, here out of every team');
select is(admin_set_member_role(tests.id('other'), 'enterprise_admin') -> 'changed', 'true'::jsonb,
  'and changes roles in any organization');
select tests.clear_authentication();

-- ## Another organization (platform admin)
select tests.authenticate_as('platform_admin');
select is(admin_move_member_to_org(tests.id('team_manager'), tests.id('org_b'), tests.id('team_b1'), 'team_manager') -> 'member'
            ->> 'org_id', tests.id('org_b')::text, 'a platform admin moves a member to another organization');
select tests.clear_authentication();
select is((select count(*) from team_managers where user_id = tests.id('team_manager')), 0::bigint,
  'their team manager assignments in the old organization end');
select results_eq(
  $$select org_id, before ->> 'org_id', after ->> 'org_id', after ->> 'team_id' from audit_log where id > (select id from audit_start) and action = 'member.move_org'$$,
  $$values (tests.id('org_a'), tests.id('org_a')::text, tests.id('org_b')::text, tests.id('team_b1')::text)$$,
  'one entry, filed under the organization the member left');
select tests.authenticate_as('platform_admin');
select throws_ok(format($$select admin_move_member_to_org(%L, %L)$$, tests.id('enterprise_admin'), tests.id('org_b')),
  '23514', null, 'the last enterprise admin cannot leave');
select throws_ok(format($$select admin_move_member_to_org(%L, %L, %L)$$, tests.id('rep'), tests.id('org_b'), tests.id('team_a1')),
  '22023', null, 'the team must be of the new organization');
select throws_ok(format($$select admin_move_member_to_org(%L, %L)$$, tests.id('rep'), tests.id('org_a')),
  '22023', null, 'a move within the organization is a team move');
select is(admin_move_member_to_org(tests.id('rep'), gen_random_uuid()), null, 'an unknown organization is null (404)');
select tests.clear_authentication();
update organizations set max_users = 2 where id = tests.id('org_b');
select tests.authenticate_as('platform_admin');
select throws_ok(format($$select admin_move_member_to_org(%L, %L)$$, tests.id('rep'), tests.id('org_b')),
  '23514', null, 'an organization without a free seat takes nobody');
select tests.clear_authentication();
select is(pg_temp.entries('member.move_org'), 1::bigint, 'refused moves wrote nothing');

-- ## Organizations (platform admin)
select tests.authenticate_as('platform_admin');
select is(admin_create_org(' Newco ', 'newco', 'enterprise', 'tests_plan', 'NEWCOMER@example.test') -> 'first_admin',
  jsonb_build_object('user_id', tests.id('newcomer'), 'email', 'newcomer@example.test', 'role', 'enterprise_admin'),
  'a platform admin creates an organization with its first enterprise admin (e-mail in any case)');
select throws_ok($$select admin_create_org('Again', 'newco', 'team', 'tests_plan', 'other@example.test')$$,
  '23505', null, 'a taken slug is refused');
select throws_ok($$select admin_create_org('Two', 'two-orgs', 'team', 'tests_plan', 'rep@example.test')$$,
  '23505', null, 'a member of another organization cannot be its first admin');
select throws_ok($$select admin_create_org('Free', 'free', 'team', 'free_forever', 'rep@example.test')$$,
  '22023', null, 'an unknown plan is refused');
select is(admin_create_org('Ghost', 'ghost', 'team', 'tests_plan', 'ghost@example.test'), null,
  'nobody with that e-mail is null (404)');
select tests.clear_authentication();
select results_eq(
  $$select o.name, o.kind, m.role::text from organizations o join memberships m on m.org_id = o.id where o.slug = 'newco'$$,
  $$values ('Newco', 'enterprise', 'enterprise_admin')$$, 'the organization and its admin exist');
select results_eq(
  $$select actor_id, action, after ->> 'slug', after -> 'first_admin' ->> 'user_id' from audit_log
     where org_id = (select id from organizations where slug = 'newco')$$,
  $$values (tests.id('platform_admin'), 'org.create', 'newco', tests.id('newcomer')::text)$$,
  'one entry for the creation, naming the first admin');

select tests.authenticate_as('platform_admin');
select is(admin_set_org_status(tests.id('org_b'), 'suspended', ' abuse report 42 ') -> 'organization' ->> 'suspended_reason',
  'abuse report 42', 'a platform admin suspends an organization with a reason');
select is(admin_set_org_status(tests.id('org_b'), 'suspended', 'again') -> 'changed', 'false'::jsonb,
  'suspending it again changes nothing');
select throws_ok(format($$select admin_set_org_status(%L, 'active', '  ')$$, tests.id('org_b')),
  '22023', null, 'a reason is required');
select is(admin_set_org_status(gen_random_uuid(), 'active', 'why'), null, 'an unknown organization is null (404)');
select tests.clear_authentication();
select is(tests.seen('other', $$select id from teams$$), '{}'::text[], 'a suspended organization''s member reads nothing more');

select tests.authenticate_as('platform_admin');
select is(admin_set_org_status(tests.id('org_b'), 'active', 'paid') -> 'organization' ->> 'status', 'active',
  'and reactivates it');
select tests.clear_authentication();
select is(tests.seen('other', $$select name from teams$$), '{B1}'::text[], 'its members read again');
select results_eq(
  $$select action, before ->> 'status', after ->> 'status', after ->> 'reason' from audit_log
     where org_id = tests.id('org_b') and action in ('org.suspend', 'org.reactivate') order by id$$,
  $$values ('org.suspend', 'active', 'suspended', 'abuse report 42'), ('org.reactivate', 'suspended', 'active', 'paid')$$,
  'one entry per status change, with before, after and the reason');

select * from finish();
rollback;
