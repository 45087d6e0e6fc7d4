-- check_request() (PostgREST's db-pre-request) × every persona: a suspended organization's
-- member is refused on every path but session_context() and reading their profile,
-- organization and billing status; everyone else passes, whatever they ask for.
begin;
select plan(14);
select tests.create_world();

create function pg_temp.request(persona text, method text, path text) returns text language plpgsql as $$
begin
  perform set_config('request.method', method, true);
  perform set_config('request.path', path, true);
  return tests.try_as(persona, 'select public.check_request()');
end
$$;

select is(pg_temp.request(persona, 'POST', '/activities'), 'ok 1', format('%s passes', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'other',
                    'platform_admin', 'read_only', 'anon']) persona;
select is(pg_temp.request('suspended', 'GET', '/goals'), '42501 your organization is suspended',
  'a suspended organization''s member reads no goals');
select is(pg_temp.request('suspended', 'POST', '/rpc/resolved_feature_flags'), '42501 your organization is suspended',
  'nor calls a function');
select is(pg_temp.request('suspended', 'PATCH', '/profiles'), '42501 your organization is suspended',
  'nor edits their profile');
select is(pg_temp.request('suspended', 'GET', '/subscriptions'), 'ok 1',
  'but reads their billing status (and profile and organization)');
select is(pg_temp.request('suspended', 'POST', '/rpc/session_context'), 'ok 1',
  'and gets the session verdict that signs them out');
insert into platform_admins (user_id, note) values (tests.id('suspended'), 'staff in a suspended org');
select is(pg_temp.request('suspended', 'GET', '/goals'), 'ok 1', 'a platform admin is never locked out');

select * from finish();
rollback;
