-- Faster reads of member-owned rows. `user_id in (select <set-returning helper>)` inside a
-- policy runs as a hashed subplan over every row the other conditions leave, so a rep's read of
-- a quarter scanned the whole organization's quarter (110 ms over 1 million activities, see
-- scripts/bench-rls). An array from an init plan, `user_id = any ((select …)::uuid[])`, is an
-- index condition instead (5 ms). The rules are the same; only their form changes.

-- ## Helpers
create or replace function private.active_org_id() returns uuid
language sql stable security definer set search_path = ''
as $$
  select m.org_id from public.memberships m
    join public.organizations o on o.id = m.org_id and o.status = 'active'
   where m.user_id = (select auth.uid())
$$;
comment on function private.active_org_id() is
  'The caller''s organization when it is active, else null: use as `org_id = (select …)`.';

create or replace function private.readable_user_ids() returns uuid[]
language sql stable security definer set search_path = ''
as $$
  select array(
    select (select auth.uid()) where exists (select 1 from private.active_org_ids())
    union
    select private.managed_user_ids()
  )
$$;
comment on function private.readable_user_ids() is
  'The caller (when their organization is active) and every member they manage, as an array: '
  'use as `user_id = any ((select …)::uuid[])`, which an index on user_id serves.';
grant execute on function private.active_org_id(), private.readable_user_ids()
  to authenticated, service_role;

-- ## Policies, same rules in the indexable form
alter policy "members read their goals and those of members they manage" on public.goals
  using (org_id = (select private.active_org_id())
         and user_id = any ((select private.readable_user_ids())::uuid[]));
alter policy "members read their activities and those of members they manage" on public.activities
  using (org_id = (select private.active_org_id())
         and user_id = any ((select private.readable_user_ids())::uuid[]));
alter policy "members read the history of activities they may read" on public.activity_history
  using (org_id = (select private.active_org_id())
         and user_id = any ((select private.readable_user_ids())::uuid[]));
alter policy "members read their KPIs and those of members they manage" on public.kpi_daily
  using (org_id = (select private.active_org_id())
         and user_id = any ((select private.readable_user_ids())::uuid[]));
alter policy "members read their rules and those of members they manage" on public.referral_rules
  using (org_id = (select private.active_org_id())
         and user_id = any ((select private.readable_user_ids())::uuid[]));
alter policy "members read notes about them, by them, or about members they manage" on public.annotations
  using (org_id = (select private.active_org_id())
         and (user_id = any ((select private.readable_user_ids())::uuid[])
              or author_id = (select auth.uid())));

-- kpi_daily is read per member and day range by the dashboards: the key leads with user_id.
-- goals are read per member: an index on user_id alone serves the policy's `= any`.
create index goals_user_id_idx on public.goals (user_id);
