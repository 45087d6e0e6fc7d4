-- Profiles: the public face of an auth user, one row per auth.users row, created by trigger.

-- ## Table
create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text not null default '',
  full_name text not null default '' check (length(full_name) <= 200),
  avatar_url text check (avatar_url ~ '^https://'),
  time_zone text not null default 'UTC',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.profiles is 'One row per auth user (created by trigger): name, e-mail, time zone.';
comment on column public.profiles.id is 'The auth user''s id.';
comment on column public.profiles.email is 'Copied from auth.users on sign-up and on change; not editable here.';
comment on column public.profiles.full_name is 'Display name (from sign-up metadata `full_name`).';
comment on column public.profiles.avatar_url is 'HTTPS URL of the avatar, if any.';
comment on column public.profiles.time_zone is 'IANA time zone for the user''s days and goals.';
comment on column public.profiles.created_at is 'When the row was created.';
comment on column public.profiles.updated_at is 'When the row last changed.';
alter table public.profiles enable row level security;
create trigger profiles_touch_updated_at before update on public.profiles
  for each row execute function private.touch_updated_at();

-- Users edit their name, avatar and time zone; the e-mail follows auth.users.
revoke insert, update on public.profiles from anon, authenticated;
grant update (full_name, avatar_url, time_zone) on public.profiles to authenticated;

-- ## Sync from auth.users
create or replace function private.sync_profile_from_auth_user() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  insert into public.profiles (id, email, full_name)
  values (
    new.id,
    coalesce(new.email, ''),
    left(coalesce(new.raw_user_meta_data ->> 'full_name', new.raw_user_meta_data ->> 'name', ''), 200)
  )
  on conflict (id) do update set email = excluded.email;
  return new;
end
$$;
comment on function private.sync_profile_from_auth_user() is
  'Trigger on auth.users: creates the profile of a new user and keeps its e-mail current.';
create trigger on_auth_user_saved_sync_profile
  after insert or update of email on auth.users
  for each row execute function private.sync_profile_from_auth_user();

-- ## Policies
create policy "users read their own profile, even when suspended" on public.profiles
  for select to authenticated using (id = (select auth.uid()));
create policy "members read their colleagues' profiles" on public.profiles
  for select to authenticated using (id in (select private.org_member_ids()));
create policy "platform admins read every profile" on public.profiles
  for select to authenticated using ((select private.is_platform_admin()));
create policy "users update their own profile" on public.profiles
  for update to authenticated
  using (id = (select auth.uid())) with check (id = (select auth.uid()));
select private.add_write_guards('public.profiles');
