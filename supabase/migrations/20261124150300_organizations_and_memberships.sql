-- Organizations, their teams, who belongs to which with what role, and which teams a manager
-- manages; then the membership helpers every later policy uses, and these tables' policies.
--
-- Roles: rep (own rows), team_manager (reads the members of the teams listed for them in
-- team_managers), enterprise_tm (reads and organises every team of the org, no billing or org
-- settings), enterprise_admin (the whole org). A user belongs to at most one organization.

-- ## Types
create type public.org_role as enum ('rep', 'team_manager', 'enterprise_tm', 'enterprise_admin');
comment on type public.org_role is 'A member''s role in their organization.';
create type public.org_status as enum ('active', 'suspended');
comment on type public.org_status is 'Suspended organizations'' members read only their profile and billing status.';

-- ## Organizations
create table public.organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(btrim(name)) between 1 and 200),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  kind text not null default 'team' check (kind in ('individual', 'team', 'enterprise')),
  plan_key text not null references public.plans (key) on update cascade,
  status public.org_status not null default 'active',
  suspended_at timestamptz,
  suspended_reason text,
  max_users integer check (max_users > 0),
  max_sims integer check (max_sims > 0),
  time_zone text not null default 'UTC',
  behind_pace_threshold numeric(4, 3) not null default 0.100
    check (behind_pace_threshold > 0 and behind_pace_threshold < 1),
  bottleneck_threshold numeric(4, 3) not null default 0.500
    check (bottleneck_threshold > 0 and bottleneck_threshold < 1),
  inactivity_alert_days smallint not null default 3 check (inactivity_alert_days between 1 and 60),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint suspension_is_dated check ((status = 'suspended') = (suspended_at is not null))
);
comment on table public.organizations is 'Customer companies (or individual accounts) and their plan and limits.';
comment on column public.organizations.id is 'Identifier.';
comment on column public.organizations.name is 'Display name.';
comment on column public.organizations.slug is 'URL-safe unique name.';
comment on column public.organizations.kind is 'individual (one seat), team or enterprise.';
comment on column public.organizations.plan_key is 'The plan in force; billing webhooks keep it in step with Stripe.';
comment on column public.organizations.status is 'active or suspended (by a platform admin or unpaid billing).';
comment on column public.organizations.suspended_at is 'When it was suspended; set exactly when status is suspended.';
comment on column public.organizations.suspended_reason is 'Why, for support.';
comment on column public.organizations.max_users is 'Seat limit overriding the plan''s; null means the plan''s.';
comment on column public.organizations.max_sims is 'SIM limit overriding the plan''s; null means the plan''s.';
comment on column public.organizations.time_zone is 'IANA time zone for org-wide periods.';
comment on column public.organizations.behind_pace_threshold is 'Pacing alert: fraction behind expected-by-today that raises an alert.';
comment on column public.organizations.bottleneck_threshold is 'Bottleneck alert: real conversion below this fraction of the SIM''s.';
comment on column public.organizations.inactivity_alert_days is 'Alert after this many working days with no activity.';
comment on column public.organizations.created_at is 'When the row was created.';
comment on column public.organizations.updated_at is 'When the row last changed.';
alter table public.organizations enable row level security;
create index organizations_plan_status_idx on public.organizations (plan_key, status);
create trigger organizations_touch_updated_at before update on public.organizations
  for each row execute function private.touch_updated_at();

-- The API may change only these columns (enterprise admins, org settings); plan, status and
-- limits change through billing webhooks and audited admin functions (service role).
revoke insert, update on public.organizations from anon, authenticated;
grant update (name, time_zone, behind_pace_threshold, bottleneck_threshold, inactivity_alert_days)
  on public.organizations to authenticated;

-- ## Teams
create table public.teams (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  name text not null check (length(btrim(name)) between 1 and 200),
  division text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (org_id, name),
  unique (id, org_id)
);
comment on table public.teams is 'Teams of an organization, grouped in divisions for enterprises.';
comment on column public.teams.id is 'Identifier.';
comment on column public.teams.org_id is 'The organization.';
comment on column public.teams.name is 'Name, unique in the organization.';
comment on column public.teams.division is 'Division (enterprise grouping); empty when unused.';
comment on column public.teams.created_at is 'When the row was created.';
comment on column public.teams.updated_at is 'When the row last changed.';
alter table public.teams enable row level security;
create trigger teams_touch_updated_at before update on public.teams
  for each row execute function private.touch_updated_at();

-- ## Memberships
create table public.memberships (
  org_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null unique references auth.users (id) on delete cascade,
  role public.org_role not null default 'rep',
  team_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (org_id, user_id),
  foreign key (team_id, org_id) references public.teams (id, org_id) on delete set null (team_id)
);
comment on table public.memberships is 'Who belongs to which organization, with which role and team (one organization per user).';
comment on column public.memberships.org_id is 'The organization.';
comment on column public.memberships.user_id is 'The member; unique: a user belongs to one organization.';
comment on column public.memberships.role is 'rep, team_manager, enterprise_tm or enterprise_admin.';
comment on column public.memberships.team_id is 'The team the member works in (a team of the same organization), if any.';
comment on column public.memberships.created_at is 'When the member joined.';
comment on column public.memberships.updated_at is 'When the row last changed.';
alter table public.memberships enable row level security;
create index memberships_team_id_idx on public.memberships (team_id);
create index memberships_org_role_idx on public.memberships (org_id, role);
create trigger memberships_touch_updated_at before update on public.memberships
  for each row execute function private.touch_updated_at();

-- ## Team managers
create table public.team_managers (
  team_id uuid not null,
  user_id uuid not null,
  org_id uuid not null,
  created_at timestamptz not null default now(),
  primary key (team_id, user_id),
  foreign key (team_id, org_id) references public.teams (id, org_id) on delete cascade,
  foreign key (org_id, user_id) references public.memberships (org_id, user_id) on delete cascade
);
comment on table public.team_managers is 'The teams each team manager manages (one or more).';
comment on column public.team_managers.team_id is 'The managed team.';
comment on column public.team_managers.user_id is 'The manager: a member of the same organization.';
comment on column public.team_managers.org_id is 'The organization of both, so neither can cross organizations.';
comment on column public.team_managers.created_at is 'When the assignment was made.';
alter table public.team_managers enable row level security;
create index team_managers_user_id_idx on public.team_managers (user_id);
create index team_managers_org_id_idx on public.team_managers (org_id);

-- ## Invariants
-- A seat beyond the plan (or the organization's own limit) is refused by the database.
create or replace function private.enforce_seat_limit() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  seat_limit integer;
  seats integer;
begin
  select coalesce(o.max_users, p.max_users) into seat_limit
    from public.organizations o join public.plans p on p.key = o.plan_key
   where o.id = new.org_id
     for update of o;  -- serialises concurrent joins of one organization
  select count(*) into seats from public.memberships where org_id = new.org_id;
  if seats >= seat_limit then
    raise exception 'organization % has no free seat (limit %)', new.org_id, seat_limit
      using errcode = 'check_violation', hint = 'Upgrade the plan or remove a member.';
  end if;
  return new;
end
$$;
comment on function private.enforce_seat_limit() is
  'Trigger: refuses a membership beyond the organization''s seat limit (plan or override).';
create trigger memberships_enforce_seat_limit
  before insert or update of org_id on public.memberships
  for each row execute function private.enforce_seat_limit();

-- Only team managers and enterprise TMs manage teams; demoting one drops their assignments.
create or replace function private.check_team_manager_role() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if not exists (
    select 1 from public.memberships
     where org_id = new.org_id and user_id = new.user_id
       and role in ('team_manager', 'enterprise_tm')
  ) then
    raise exception 'user % is not a team manager or enterprise TM', new.user_id
      using errcode = 'check_violation';
  end if;
  return new;
end
$$;
comment on function private.check_team_manager_role() is
  'Trigger: a team_managers row needs a member whose role is team_manager or enterprise_tm.';
create trigger team_managers_check_role before insert or update on public.team_managers
  for each row execute function private.check_team_manager_role();

create or replace function private.drop_assignments_of_demoted() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if new.role not in ('team_manager', 'enterprise_tm') then
    delete from public.team_managers where org_id = old.org_id and user_id = old.user_id;
  end if;
  return null;
end
$$;
comment on function private.drop_assignments_of_demoted() is
  'Trigger: a member who is no longer a manager manages no team.';
create trigger memberships_drop_assignments_of_demoted after update of role on public.memberships
  for each row execute function private.drop_assignments_of_demoted();

-- ## Membership helpers (security definer: they read memberships whatever its policies say)
create or replace function private.my_org_id() returns uuid
language sql stable security definer set search_path = ''
as $$
  select org_id from public.memberships where user_id = (select auth.uid())
$$;
comment on function private.my_org_id() is
  'The caller''s organization, whatever its status (for billing status and the org row).';

create or replace function private.active_org_ids() returns setof uuid
language sql stable security definer set search_path = ''
as $$
  select m.org_id from public.memberships m
    join public.organizations o on o.id = m.org_id and o.status = 'active'
   where m.user_id = (select auth.uid())
$$;
comment on function private.active_org_ids() is
  'The caller''s organization when it is active (empty when suspended): use as `org_id in (select …)`.';

create or replace function private.org_ids_with_role(roles public.org_role[]) returns setof uuid
language sql stable security definer set search_path = ''
as $$
  select m.org_id from public.memberships m
    join public.organizations o on o.id = m.org_id and o.status = 'active'
   where m.user_id = (select auth.uid()) and m.role = any (roles)
$$;
comment on function private.org_ids_with_role(public.org_role[]) is
  'The caller''s active organization if their role is one of `roles`.';

create or replace function private.has_role(org uuid, roles public.org_role[]) returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (select 1 from private.org_ids_with_role(roles) o where o = org)
$$;
comment on function private.has_role(uuid, public.org_role[]) is
  'True when the caller has one of `roles` in the active organization `org`.';

create or replace function private.managed_user_ids() returns setof uuid
language sql stable security definer set search_path = ''
as $$
  -- enterprise admins and TMs: every member of their organization
  select m.user_id from public.memberships m
   where m.org_id in (select private.org_ids_with_role('{enterprise_admin,enterprise_tm}'))
  union
  -- team managers: the members of the teams they manage
  select m.user_id from public.team_managers tm
    join public.memberships m on m.team_id = tm.team_id
   where tm.user_id = (select auth.uid())
     and tm.org_id in (select private.active_org_ids())
$$;
comment on function private.managed_user_ids() is
  'Users whose data the caller may read as a manager (including the caller when they are in a managed team or an enterprise role).';

create or replace function private.manages_user(target uuid) returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (select 1 from private.managed_user_ids() u where u = target)
$$;
comment on function private.manages_user(uuid) is 'True when the caller manages `target`.';

create or replace function private.org_member_ids() returns setof uuid
language sql stable security definer set search_path = ''
as $$
  select m.user_id from public.memberships m
   where m.org_id in (select private.active_org_ids())
$$;
comment on function private.org_member_ids() is
  'Members of the caller''s organization when it is active (colleagues, including the caller).';

grant execute on function private.my_org_id(), private.active_org_ids(),
  private.org_ids_with_role(public.org_role[]), private.has_role(uuid, public.org_role[]),
  private.managed_user_ids(), private.manages_user(uuid), private.org_member_ids()
  to authenticated, service_role;

-- ## Policies: organizations
create policy "members read their organization, even suspended" on public.organizations
  for select to authenticated
  using (id = (select private.my_org_id()) or (select private.is_platform_admin()));
create policy "enterprise admins update their organization's settings" on public.organizations
  for update to authenticated
  using (id in (select private.org_ids_with_role('{enterprise_admin}')))
  with check (id in (select private.org_ids_with_role('{enterprise_admin}')));
select private.add_write_guards('public.organizations');

-- ## Policies: teams
create policy "members read their organization's teams" on public.teams
  for select to authenticated
  using (org_id in (select private.active_org_ids()) or (select private.is_platform_admin()));
create policy "enterprise admins and TMs create teams" on public.teams
  for insert to authenticated
  with check (org_id in (select private.org_ids_with_role('{enterprise_admin,enterprise_tm}')));
create policy "enterprise admins and TMs update teams" on public.teams
  for update to authenticated
  using (org_id in (select private.org_ids_with_role('{enterprise_admin,enterprise_tm}')))
  with check (org_id in (select private.org_ids_with_role('{enterprise_admin,enterprise_tm}')));
create policy "enterprise admins and TMs delete teams" on public.teams
  for delete to authenticated
  using (org_id in (select private.org_ids_with_role('{enterprise_admin,enterprise_tm}')));
select private.add_write_guards('public.teams');

-- ## Policies: memberships
create policy "members read their own membership and those they manage" on public.memberships
  for select to authenticated
  using (
    (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()))
    or user_id in (select private.managed_user_ids())
    or (select private.is_platform_admin())
  );
create policy "enterprise admins add members" on public.memberships
  for insert to authenticated
  with check (org_id in (select private.org_ids_with_role('{enterprise_admin}')));
create policy "enterprise admins change any membership of their org" on public.memberships
  for update to authenticated
  using (org_id in (select private.org_ids_with_role('{enterprise_admin}')))
  with check (org_id in (select private.org_ids_with_role('{enterprise_admin}')));
create policy "enterprise TMs move reps and team managers between teams" on public.memberships
  for update to authenticated
  using (
    org_id in (select private.org_ids_with_role('{enterprise_tm}'))
    and role in ('rep', 'team_manager')
  )
  with check (
    org_id in (select private.org_ids_with_role('{enterprise_tm}'))
    and role in ('rep', 'team_manager')
  );
create policy "enterprise admins remove members" on public.memberships
  for delete to authenticated
  using (org_id in (select private.org_ids_with_role('{enterprise_admin}')));
select private.add_write_guards('public.memberships');

-- ## Policies: team managers
create policy "managers and enterprise roles read team assignments" on public.team_managers
  for select to authenticated
  using (
    (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()))
    or org_id in (select private.org_ids_with_role('{enterprise_admin,enterprise_tm}'))
    or (select private.is_platform_admin())
  );
create policy "enterprise admins and TMs assign team managers" on public.team_managers
  for insert to authenticated
  with check (org_id in (select private.org_ids_with_role('{enterprise_admin,enterprise_tm}')));
create policy "enterprise admins and TMs unassign team managers" on public.team_managers
  for delete to authenticated
  using (org_id in (select private.org_ids_with_role('{enterprise_admin,enterprise_tm}')));
select private.add_write_guards('public.team_managers');
