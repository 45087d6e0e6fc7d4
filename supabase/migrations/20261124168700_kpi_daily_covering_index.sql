-- kpi_org reads a period of every managed member's rollups: by the primary key's user_id and
-- day, with everything it sums in the index, so the scan needs no heap page (an index-only scan
-- over a vacuumed table). Measured on a 500-member organization with a year of activity, one
-- month's 18 836 rows summed two ways: 15.6 ms -> 10.3 ms (pgbench, as the enterprise admin).
create index kpi_daily_user_id_day_covering_idx on public.kpi_daily (user_id, day)
  include (org_id, activity_type, stage_key, quantity, value_cents);
comment on index public.kpi_daily_user_id_day_covering_idx is
  'Index-only scans of members'' rollups over a period (kpi_org).';
