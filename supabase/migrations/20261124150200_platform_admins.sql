-- Platform admins: SalesPulse staff. Not an organization role; a separate table that only the
-- service role (audited admin functions) writes.

-- ## Table
create table public.platform_admins (
  user_id uuid primary key references auth.users (id) on delete cascade,
  note text not null default '',
  granted_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now()
);
comment on table public.platform_admins is
  'SalesPulse staff with platform-wide powers, exercised through audited admin functions.';
comment on column public.platform_admins.user_id is 'The staff member''s auth user.';
comment on column public.platform_admins.note is 'Why they have the role (team, ticket).';
comment on column public.platform_admins.granted_by is 'Who granted it.';
comment on column public.platform_admins.created_at is 'When it was granted.';
alter table public.platform_admins enable row level security;

-- ## Helper
create or replace function private.is_platform_admin() returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (select 1 from public.platform_admins where user_id = (select auth.uid()))
$$;
comment on function private.is_platform_admin() is 'True when the caller is a platform admin.';
grant execute on function private.is_platform_admin() to authenticated, service_role;

-- ## Policies
create policy "platform admins read the platform admins" on public.platform_admins
  for select to authenticated using ((select private.is_platform_admin()));
