-- The organization's KPI alert thresholds (behind_pace_threshold, bottleneck_threshold,
-- inactivity_alert_days) gain the smallest stage count a bottleneck is judged on: two calls
-- without an appointment say nothing about a funnel yet.

alter table public.organizations
  add column bottleneck_min_count integer not null default 10
    check (bottleneck_min_count between 1 and 100000);
comment on column public.organizations.bottleneck_min_count is
  'Bottleneck alert: a stage needs at least this many activities in the period before its conversion is judged.';
grant update (bottleneck_min_count) on public.organizations to authenticated;
