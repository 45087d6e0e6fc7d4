-- An organization's KPI alert thresholds (behind_pace_threshold, bottleneck_threshold,
-- bottleneck_min_count, inactivity_alert_days) decide what every manager of it is alerted to, so
-- changing them is audited like the plan and limits: one `org.change_alert_thresholds` row with
-- the thresholds before and after, written by the organizations trigger in the same transaction
-- as the change, however it is made (an enterprise admin through the API under RLS, or the
-- dashboard). The column grants and the enterprise-admin update policy already allow the
-- change; the table's checks keep each threshold in range.

create or replace function private.audit_organization_change() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  watched text[] := array['plan_key', 'status', 'max_users', 'max_sims', 'kind'];
  alert_thresholds text[] := array['behind_pace_threshold', 'bottleneck_threshold',
                                   'bottleneck_min_count', 'inactivity_alert_days'];
  before jsonb := to_jsonb(old);
  after jsonb := to_jsonb(new);
begin
  if tg_op = 'INSERT' then
    perform private.write_audit('org.create', 'org', new.id, 'organization', new.id::text, null, to_jsonb(new));
    return null;
  elsif tg_op = 'DELETE' then
    perform private.write_audit('org.delete', 'org', old.id, 'organization', old.id::text, to_jsonb(old), null);
    return null;
  end if;
  if exists (select 1 from unnest(watched) c where before -> c is distinct from after -> c) then
    perform private.write_audit(
      case when new.status <> old.status then
             case new.status when 'suspended' then 'org.suspend' else 'org.reactivate' end
           else 'org.change_plan_or_limits' end,
      'org', new.id, 'organization', new.id::text, before, after);
  end if;
  if exists (select 1 from unnest(alert_thresholds) c where before -> c is distinct from after -> c) then
    perform private.write_audit(
      'org.change_alert_thresholds', 'org', new.id, 'organization', new.id::text,
      (select jsonb_object_agg(c, before -> c) from unnest(alert_thresholds) c),
      (select jsonb_object_agg(c, after -> c) from unnest(alert_thresholds) c));
  end if;
  return null;
end
$$;
comment on function private.audit_organization_change() is
  'Trigger: creating, deleting, suspending, reactivating or changing the plan, limits or KPI alert thresholds of an organization is audited, however it is done.';
