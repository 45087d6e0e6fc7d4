-- The API roles plan without JIT compilation. Their queries are short and indexed, but a plan
-- whose estimate crosses jit_above_cost (a set-returning helper counts as 1 000 rows, a CTE of one
-- member as many) compiles LLVM code on every call: kpi_me_period for one rep's month took
-- 340-470 ms with JIT and 30-80 ms without on the generated 500-member organization
-- (scripts/bench-kpi; busy 2-core machine). PostgREST, like the local gateway, applies the
-- impersonated role's settings in each request's transaction. Scoped to this database, as role
-- settings otherwise reach every database of the cluster.
do $$
declare
  api_role text;
begin
  foreach api_role in array array['anon', 'authenticated', 'service_role'] loop
    execute format('alter role %I in database %I set jit = off', api_role, current_database());
  end loop;
end
$$;
