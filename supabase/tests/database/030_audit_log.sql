-- audit_log × select/insert/update/delete × every persona; append-only even for the owner.
begin;
select plan(44);
select tests.create_world();
-- entries of this test only (creating the world audited its members too)
select private.write_audit('test.entry', 'org', tests.id('org_a'), 'organization', 'a');
select private.write_audit('test.entry', 'org', tests.id('org_b'), 'organization', 'b');
select private.write_audit('test.entry', 'global', null, 'feature_flag', 'global');

select is(tests.seen(persona, $$select target_id from audit_log where action = 'test.entry'$$), expected,
          format('audit_log: %s reads %s', persona, expected))
  from (values
    ('rep', '{}'::text[]), ('team_manager', '{}'), ('enterprise_tm', '{}'),
    ('enterprise_admin', '{a}'), ('platform_admin', '{a,b,global}'), ('other', '{}'),
    ('suspended', '{}'), ('read_only', '{}'), ('anon', '{}')
  ) v(persona, expected);

select is(tests.try_as(persona, $$insert into audit_log (actor_role, action, scope, target_type) values ('x', 'made.up', 'global', 'x')$$),
  '42501 permission denied for table audit_log', format('audit_log: %s cannot insert', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin',
                    'other', 'suspended', 'read_only', 'anon']) persona;
select is(tests.try_as(persona, $$update audit_log set after = '{}'$$),
  '42501 permission denied for table audit_log', format('audit_log: %s cannot update', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin',
                    'other', 'suspended', 'read_only', 'anon']) persona;
select is(tests.try_as(persona, $$delete from audit_log$$),
  '42501 permission denied for table audit_log', format('audit_log: %s cannot delete', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin',
                    'other', 'suspended', 'read_only', 'anon']) persona;

select throws_ok($$update audit_log set after = '{}'$$, '42501', 'the audit log is append-only (update refused)',
  'the table owner cannot rewrite an entry');
select throws_ok($$delete from audit_log$$, '42501', 'the audit log is append-only (delete refused)',
  'the table owner cannot delete an entry');
select throws_ok($$truncate audit_log$$, '42501', 'the audit log is append-only (truncate refused)',
  'the table owner cannot truncate the log');
set local role service_role;
select throws_ok($$update audit_log set after = '{}'$$, '42501', null,
  'the service role cannot rewrite an entry');
select lives_ok($$delete from audit_log where target_id = 'b'$$,
  'the service role (retention job) deletes entries');
reset role;
select is((select count(*)::int from audit_log where action = 'test.entry'), 2, 'the retention delete removed exactly its rows');

select tests.authenticate_as('read_only');
select is(private.write_audit('impersonation.read', 'user', tests.id('org_a'), 'user', 'x') > 0, true,
  'an entry written during impersonation is accepted');
select tests.clear_authentication();
select results_eq(
  $$select tests.name(actor_id), tests.name(impersonator_id), actor_role from audit_log where action = 'impersonation.read'$$,
  $$values ('rep', 'platform_admin', 'authenticated')$$,
  'an entry records the actor, the impersonator and the role');

select * from finish();
rollback;
