-- Reading the audit log × every persona, also in impersonation sessions (which read nothing,
-- not even a platform admin's); may_read_audit_log() agrees with the policies; each filter
-- reads newest-first pages from its own index.
begin;
select plan(29);
select tests.create_world();
select private.write_audit('test.reader', 'org', tests.id('org_a'), 'organization', 'a');
select private.write_audit('test.reader', 'org', tests.id('org_b'), 'organization', 'b');
select private.write_audit('test.reader', 'global', null, 'feature_flag', 'global');

-- `query` run as `persona`'s user in a session a platform admin impersonates.
create function pg_temp.seen_impersonating(persona text, query text) returns text[]
language plpgsql as $$
declare
  result text[];
begin
  perform set_config('role', 'authenticated', true);
  perform set_config('request.jwt.claims', jsonb_build_object(
    'sub', tests.id(persona), 'role', 'authenticated', 'aud', 'authenticated',
    'impersonator', tests.id('platform_admin'), 'read_only', true)::text, true);
  execute format('select coalesce(array_agg(v order by v), ''{}'') from (%s) q(v)', query)
    into result;
  perform tests.clear_authentication();
  return result;
end
$$;

-- The plan of `query`, one line per row.
create function pg_temp.plan_of(query text) returns setof text
language plpgsql as $$
begin
  return query execute 'explain (costs off) ' || query;
end
$$;

select is(tests.seen(persona, $$select target_id from audit_log where action = 'test.reader'$$), expected,
          format('audit_log: %s reads %s', persona, expected))
  from (values
    ('rep', '{}'::text[]), ('team_manager', '{}'), ('enterprise_tm', '{}'),
    ('enterprise_admin', '{a}'), ('platform_admin', '{a,b,global}'), ('other', '{}'),
    ('suspended', '{}'), ('read_only', '{}'), ('anon', '{}')
  ) v(persona, expected);
select is(pg_temp.seen_impersonating(persona, $$select target_id from audit_log where action = 'test.reader'$$),
          '{}'::text[], format('audit_log: the %s impersonated reads nothing', persona))
  from unnest(array['enterprise_admin', 'platform_admin']) persona;

-- may_read_audit_log(): of any organization / of org A / of org B
select is(tests.seen(persona, $$select concat_ws('/', may_read_audit_log(), may_read_audit_log(tests.id('org_a')),
                                                 may_read_audit_log(tests.id('org_b')))$$),
          array[expected], format('may_read_audit_log: %s answers %s', persona, expected))
  from (values
    ('rep', 'f/f/f'), ('team_manager', 'f/f/f'),
    ('enterprise_tm', 'f/f/f'), ('enterprise_admin', 't/t/f'),
    ('platform_admin', 't/t/t'), ('other', 'f/f/f'),
    ('suspended', 'f/f/f'), ('read_only', 'f/f/f')
  ) v(persona, expected);
select is(pg_temp.seen_impersonating(persona, $$select concat_ws('/', may_read_audit_log(), may_read_audit_log(tests.id('org_a')))$$),
          '{f/f}'::text[], format('may_read_audit_log: the %s impersonated may not', persona))
  from unnest(array['enterprise_admin', 'platform_admin']) persona;
select is(tests.try_as('anon', $$select may_read_audit_log()$$),
  '42501 permission denied for function may_read_audit_log', 'may_read_audit_log: anon may not ask');

select has_index('public', 'audit_log', index, format('audit_log has %s', index))
  from unnest(array['audit_log_org_id_id_idx', 'audit_log_actor_id_id_idx',
                    'audit_log_impersonator_id_id_idx', 'audit_log_action_id_idx',
                    'audit_log_target_id_idx']) index;

-- Pages come from the filter's index, newest first, without a sort of the whole selection.
set local enable_seqscan = off;
select matches(
  (select string_agg(line, E'\n') from (select * from pg_temp.plan_of(
    format($$select * from audit_log where org_id = %L and id < 1000 order by id desc limit 50$$, tests.id('org_a'))))
    p(line)), 'Index Scan Backward using audit_log_org_id_id_idx', 'an organization''s page reads its index backwards');
select matches(
  (select string_agg(line, E'\n') from (select * from pg_temp.plan_of(
    $$select * from audit_log where action = 'test.reader' and id < 1000 order by id desc limit 50$$)) p(line)),
  'Index Scan Backward using audit_log_action_id_idx', 'an action''s page reads its index backwards');

select * from finish();
rollback;
