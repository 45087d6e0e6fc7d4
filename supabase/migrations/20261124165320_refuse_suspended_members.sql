-- A suspended organization's members are refused at their next request, whatever it asks for,
-- not only at sign-in and refresh: PostgREST calls a db-pre-request function before every API
-- request (configured in the database, on the role it logs in as, as hosted Supabase documents),
-- and this one refuses a suspended organization's member with 42501 and the detail
-- `org_suspended`, which the functions answer as 403 org_suspended. Exempt: session_context()
-- (the sign-in functions read the verdict from it, then revoke the session), and reading one's
-- own profile, organization and billing status, which suspended members keep (see org_status).
-- Anonymous and service-role requests and platform admins pass; RLS still decides the rest.

create or replace function public.check_request() returns void
language plpgsql stable security definer set search_path = ''
as $$
declare
  path text := current_setting('request.path', true);
  reading boolean := current_setting('request.method', true) in ('GET', 'HEAD');
begin
  if (select auth.uid()) is null
     or path = '/rpc/session_context'
     or (reading and path in ('/profiles', '/organizations', '/subscriptions'))
     or not exists (
       select 1 from public.memberships m
         join public.organizations o on o.id = m.org_id and o.status = 'suspended'
        where m.user_id = (select auth.uid()))
     or private.is_platform_admin()
  then
    return;
  end if;
  raise exception 'your organization is suspended' using errcode = '42501', detail = 'org_suspended';
end
$$;
comment on function public.check_request() is
  'PostgREST db-pre-request: refuses every API request of a suspended organization''s member '
  '(42501, detail org_suspended) except session_context() and reading their profile, organization '
  'and billing status.';
grant execute on function public.check_request() to anon, authenticated, service_role;

-- In this database only (PostgREST reads role settings for every database and for its own, the
-- latter winning), so that other databases of the same server are left alone.
do $$
begin
  execute format('alter role authenticator in database %I set pgrst.db_pre_request = %L',
                 current_database(), 'public.check_request');
end
$$;
notify pgrst, 'reload config';
