-- Feature flags: the known features with their last-resort default, and values set per scope
-- (global, organization, user). Resolution: user over org over global over the plan's (and paid
-- add-ons') features over the feature's default. Changes go through audited admin functions
-- (service role); every change also writes an audit entry by trigger, however it is made.

-- ## Features
create table public.features (
  key text primary key check (key ~ '^[a-z][a-z0-9_]{1,62}$'),
  description text not null,
  default_value jsonb not null default 'false',
  created_at timestamptz not null default now()
);
comment on table public.features is 'Every feature a flag can switch, with its default when nothing else decides.';
comment on column public.features.key is 'The flag key used by the backend and the frontend.';
comment on column public.features.description is 'What the feature is.';
comment on column public.features.default_value is 'Value when no user, org or global flag nor the plan decides.';
comment on column public.features.created_at is 'When the feature was added.';
alter table public.features enable row level security;

insert into public.features (key, description, default_value) values
  ('what_if', 'What-if scenarios: simulate another target, SIM or calendar without touching the goal.', 'false'),
  ('referral_rules', 'Referral rules that turn referrals into deals or more valuable deals.', 'false'),
  ('messaging', 'In-app messages between managers and the members they manage.', 'false'),
  ('voice_ai', 'Voice AI role-play for a SIM''s funnel stages.', 'false'),
  ('org_dashboard', 'Organization KPI dashboards for managers.', 'false'),
  ('email_notifications', 'E-mail notifications for new messages.', 'true'),
  ('csv_export', 'CSV export of activities and KPIs.', 'true')
on conflict (key) do nothing;

create policy "members read the feature list" on public.features
  for select to authenticated using (true);

-- ## Flags
create type public.flag_scope as enum ('global', 'org', 'user');
comment on type public.flag_scope is 'How far a flag value reaches: everyone, one organization, one user.';

create table public.feature_flags (
  id uuid primary key default gen_random_uuid(),
  key text not null references public.features (key) on delete cascade,
  scope public.flag_scope not null,
  org_id uuid references public.organizations (id) on delete cascade,
  user_id uuid references auth.users (id) on delete cascade,
  value jsonb not null,
  updated_by uuid references auth.users (id) on delete set null default auth.uid(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint scope_names_its_target check (
    (scope = 'global' and org_id is null and user_id is null)
    or (scope = 'org' and org_id is not null and user_id is null)
    or (scope = 'user' and org_id is null and user_id is not null)),
  constraint feature_flags_one_value_per_target unique nulls not distinct (key, scope, org_id, user_id)
);
comment on table public.feature_flags is 'Flag values per scope; see features for the keys. Written by audited admin functions.';
comment on column public.feature_flags.id is 'Identifier.';
comment on column public.feature_flags.key is 'The feature.';
comment on column public.feature_flags.scope is 'global, org or user.';
comment on column public.feature_flags.org_id is 'The organization, for scope org.';
comment on column public.feature_flags.user_id is 'The user, for scope user.';
comment on column public.feature_flags.value is 'The value (usually true or false).';
comment on column public.feature_flags.updated_by is 'Who set it last.';
comment on column public.feature_flags.created_at is 'When the row was created.';
comment on column public.feature_flags.updated_at is 'When the value last changed.';
alter table public.feature_flags enable row level security;
create index feature_flags_org_id_idx on public.feature_flags (org_id);
create index feature_flags_user_id_idx on public.feature_flags (user_id);
create trigger feature_flags_touch_updated_at before update on public.feature_flags
  for each row execute function private.touch_updated_at();

create or replace function private.audit_flag_change() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  subject public.feature_flags := coalesce(new, old);
begin
  perform private.write_audit(
    'flag.' || case tg_op when 'INSERT' then 'set' when 'UPDATE' then 'set' else 'unset' end,
    subject.scope::text,
    coalesce(subject.org_id, (select m.org_id from public.memberships m where m.user_id = subject.user_id)),
    'feature_flag', subject.key || coalesce(':' || subject.org_id::text, '') || coalesce(':' || subject.user_id::text, ''),
    case when tg_op <> 'INSERT' then to_jsonb(old) end,
    case when tg_op <> 'DELETE' then to_jsonb(new) end);
  return null;
end
$$;
comment on function private.audit_flag_change() is 'Trigger: every flag change writes an audit entry in the same transaction.';
create trigger feature_flags_audit after insert or update or delete on public.feature_flags
  for each row execute function private.audit_flag_change();

-- ## Resolution
create or replace function private.flag_value(feature text, for_user uuid) returns jsonb
language sql stable security definer set search_path = ''
as $$
  with member as (
    select m.org_id, o.plan_key from public.memberships m
      join public.organizations o on o.id = m.org_id
     where m.user_id = for_user
  )
  select coalesce(
    (select value from public.feature_flags where key = feature and scope = 'user' and user_id = for_user),
    (select value from public.feature_flags f join member on f.org_id = member.org_id
      where f.key = feature and f.scope = 'org'),
    (select value from public.feature_flags where key = feature and scope = 'global'),
    (select 'true'::jsonb from member join public.plans p on p.key = member.plan_key
      where feature = any (p.features)),
    (select 'true'::jsonb from member
       join public.subscriptions s on s.org_id = member.org_id
        and s.status in ('active', 'trialing', 'past_due')
       join public.subscription_add_ons sa on sa.subscription_id = s.id
       join public.add_ons a on a.key = sa.add_on_key
      where feature = any (a.features)),
    (select default_value from public.features where key = feature))
$$;
comment on function private.flag_value(text, uuid) is
  'The resolved value of a feature for a user: user, org, global flag, plan or paid add-on, feature default.';

create or replace function private.feature_enabled(feature text) returns boolean
language sql stable security definer set search_path = ''
as $$
  select coalesce(private.flag_value(feature, (select auth.uid())) = 'true'::jsonb, false)
$$;
comment on function private.feature_enabled(text) is
  'True when the feature resolves to true for the caller. Policies gate paid features with it.';
grant execute on function private.flag_value(text, uuid), private.feature_enabled(text)
  to authenticated, service_role;

create or replace function public.resolved_feature_flags()
returns table (key text, value jsonb)
language sql stable security definer set search_path = ''
as $$
  select f.key, private.flag_value(f.key, (select auth.uid()))
    from public.features f
   where (select auth.uid()) is not null
   order by f.key
$$;
comment on function public.resolved_feature_flags() is
  'Every feature and its value for the caller (what the frontend loads at login). Empty for anon.';
revoke execute on function public.resolved_feature_flags() from public, anon;
grant execute on function public.resolved_feature_flags() to authenticated, service_role;

-- ## Policies
create policy "members read the flags that apply to them" on public.feature_flags
  for select to authenticated
  using (
    (scope = 'global' and (select private.has_active_org()))
    or org_id in (select private.active_org_ids())
    or (user_id = (select auth.uid()) and (select private.has_active_org()))
  );
create policy "enterprise admins read their members' flags" on public.feature_flags
  for select to authenticated
  using (user_id in (select m.user_id from public.memberships m
                      where m.org_id in (select private.org_ids_with_role('{enterprise_admin}'))));
create policy "platform admins read every flag" on public.feature_flags
  for select to authenticated using ((select private.is_platform_admin()));
