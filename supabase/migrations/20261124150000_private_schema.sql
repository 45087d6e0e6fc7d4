-- The `private` schema: helpers that policies and triggers call. It is not in the API's exposed
-- schemas, so nobody can call these through /rest/v1; the API roles only get USAGE and EXECUTE
-- because Postgres evaluates a policy's functions as the querying role.

-- ## Schema
create schema if not exists private;
comment on schema private is
  'Helpers for policies and triggers. Not exposed through the API; never grant table access here.';
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

-- Functions are executable by PUBLIC by default; helpers here are granted one by one.
alter default privileges in schema private revoke execute on functions from public;

-- ## Impersonation claims
-- A support token carries the platform admin's user id as the top-level claim `impersonator`
-- and `read_only: true`. Any token with an `impersonator` is read-only whatever `read_only` says:
-- support impersonation is view-only (issue 8).
create or replace function private.impersonator() returns uuid
language sql stable security definer set search_path = ''
as $$
  select nullif((select auth.jwt()) ->> 'impersonator', '')::uuid
$$;
comment on function private.impersonator() is
  'The platform admin impersonating the caller (JWT claim `impersonator`), or null.';

create or replace function private.is_read_only() returns boolean
language sql stable security definer set search_path = ''
as $$
  select coalesce(((select auth.jwt()) ->> 'read_only')::boolean, false)
      or ((select auth.jwt()) ? 'impersonator')
$$;
comment on function private.is_read_only() is
  'True when the JWT may read but never write: claim `read_only: true` or any `impersonator`.';

-- ## Write guards
-- Every exposed table gets the same three restrictive policies, so a read-only token writes
-- nothing whatever the permissive policies allow. One helper keeps them identical.
create or replace function private.add_write_guards(target regclass) returns void
language plpgsql set search_path = ''
as $$
begin
  execute format(
    'create policy "read-only sessions insert nothing" on %s as restrictive for insert '
    'to authenticated with check (not (select private.is_read_only()))', target);
  execute format(
    'create policy "read-only sessions update nothing" on %s as restrictive for update '
    'to authenticated using (not (select private.is_read_only()))', target);
  execute format(
    'create policy "read-only sessions delete nothing" on %s as restrictive for delete '
    'to authenticated using (not (select private.is_read_only()))', target);
end
$$;
comment on function private.add_write_guards(regclass) is
  'Migration helper: adds the restrictive policies that stop read-only (impersonation) writes.';

-- ## Timestamps
create or replace function private.touch_updated_at() returns trigger
language plpgsql set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;
comment on function private.touch_updated_at() is
  'Trigger: sets updated_at on every update, so direct SQL edits keep it true too.';

grant execute on function private.impersonator(), private.is_read_only()
  to authenticated, service_role;
