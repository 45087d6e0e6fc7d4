//! `data/demo.yml`: a demo organization with one user per role, for local runs only. Users get
//! bcrypt password hashes made by pgcrypto; existing users, teams and memberships are left as
//! they are, so a second run changes nothing.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use crate::SeedError;
use crate::plans::Catalogue;
use crate::sql::literal;
use crate::values::{Key, Name};
use crate::yaml;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Demo {
    password: Name<72>,
    organization: Organization,
    #[serde(default)]
    teams: Vec<Team>,
    users: Vec<User>,
    #[serde(default)]
    platform_admins: Vec<Person>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Organization {
    name: Name<200>,
    slug: Name<63>,
    kind: Kind,
    plan: Key,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Individual,
    Team,
    Enterprise,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Team {
    name: Name<200>,
    #[serde(default)]
    division: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct User {
    email: Name<255>,
    name: Name<200>,
    role: Role,
    team: Option<String>,
    #[serde(default)]
    manages: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Person {
    email: Name<255>,
    name: Name<200>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Role {
    Rep,
    TeamManager,
    EnterpriseTm,
    EnterpriseAdmin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Self::Rep => "rep",
            Self::TeamManager => "team_manager",
            Self::EnterpriseTm => "enterprise_tm",
            Self::EnterpriseAdmin => "enterprise_admin",
        }
    }
}

impl Demo {
    pub fn load(path: &Path) -> Result<Self, SeedError> {
        let text = yaml::read_text(path)?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, SeedError> {
        let demo: Self = yaml::parse(path, text)?;
        let slug = demo.organization.slug.as_str();
        if !slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            || slug.len() < 2
        {
            let line = yaml::line_of_nth(text, "slug:", 1);
            return Err(SeedError::new(
                path,
                line,
                format!("slug `{slug}` must be a-z, 0-9 and -"),
            ));
        }
        let teams: BTreeSet<&str> = demo.teams.iter().map(|t| t.name.as_str()).collect();
        let mut emails = BTreeSet::new();
        let people = demo
            .users
            .iter()
            .map(|u| &u.email)
            .chain(demo.platform_admins.iter().map(|p| &p.email));
        for email in people {
            let email = email.as_str();
            let line = || yaml::line_of_nth(text, &format!("email: {email}"), 1);
            if !email.contains('@') {
                return Err(SeedError::new(
                    path,
                    line(),
                    format!("`{email}` is not an e-mail address"),
                ));
            }
            if !emails.insert(email) {
                return Err(SeedError::new(
                    path,
                    yaml::line_of_nth(text, &format!("email: {email}"), 2),
                    format!("`{email}` is listed twice"),
                ));
            }
        }
        for user in &demo.users {
            let line = || yaml::line_of_nth(text, &format!("email: {}", user.email.as_str()), 1);
            for team in user.team.iter().chain(&user.manages) {
                if !teams.contains(team.as_str()) {
                    return Err(SeedError::new(
                        path,
                        line(),
                        format!("team `{team}` is not in `teams`"),
                    ));
                }
            }
            let manager = matches!(user.role, Role::TeamManager | Role::EnterpriseTm);
            if !user.manages.is_empty() && !manager {
                return Err(SeedError::new(
                    path,
                    line(),
                    "only team managers and enterprise TMs manage teams",
                ));
            }
        }
        Ok(demo)
    }

    /// The organization's plan must be one of data/plans.yml's.
    pub fn check_plan(&self, catalogue: &Catalogue, path: &Path) -> Result<(), SeedError> {
        let plan = self.organization.plan.as_str();
        if catalogue.has_plan(plan) {
            Ok(())
        } else {
            Err(SeedError::new(path, None, format!("plan `{plan}` is not in data/plans.yml")))
        }
    }

    pub fn to_sql(&self) -> String {
        let org = &self.organization;
        let slug = literal(org.slug.as_str());
        let org_id = format!("(select id from public.organizations where slug = {slug})");
        let mut sql = String::from("\n-- demo organization (data/demo.yml, local runs only)\n");
        sql.push_str(&format!(
            "insert into public.organizations (name, slug, kind, plan_key) values ({}, {slug}, {}, {})\n\
             on conflict (slug) do nothing;\n",
            literal(org.name.as_str()),
            literal(match org.kind {
                Kind::Individual => "individual",
                Kind::Team => "team",
                Kind::Enterprise => "enterprise",
            }),
            literal(org.plan.as_str()),
        ));
        for team in &self.teams {
            sql.push_str(&format!(
                "insert into public.teams (org_id, name, division) values ({org_id}, {}, {})\n\
                 on conflict (org_id, name) do nothing;\n",
                literal(team.name.as_str()),
                literal(&team.division),
            ));
        }
        let people = self
            .users
            .iter()
            .map(|u| (&u.email, &u.name))
            .chain(self.platform_admins.iter().map(|p| (&p.email, &p.name)));
        for (email, name) in people {
            sql.push_str(&self.auth_user_sql(email.as_str(), name.as_str()));
        }
        let user_id =
            |email: &str| format!("(select id from auth.users where email = {})", literal(email));
        let team_id = |team: &str| {
            format!(
                "(select id from public.teams where org_id = {org_id} and name = {})",
                literal(team)
            )
        };
        for user in &self.users {
            let id = user_id(user.email.as_str());
            let team = user.team.as_deref().map_or_else(|| "null".to_owned(), team_id);
            sql.push_str(&format!(
                "insert into public.memberships (org_id, user_id, role, team_id) values ({org_id}, {id}, '{}', {team})\n\
                 on conflict do nothing;\n",
                user.role.as_str(),
            ));
            for managed in &user.manages {
                sql.push_str(&format!(
                    "insert into public.team_managers (team_id, user_id, org_id) values ({}, {id}, {org_id})\n\
                     on conflict do nothing;\n",
                    team_id(managed),
                ));
            }
        }
        for admin in &self.platform_admins {
            sql.push_str(&format!(
                "insert into public.platform_admins (user_id, note) values ({}, 'demo')\n\
                 on conflict do nothing;\n",
                user_id(admin.email.as_str()),
            ));
        }
        sql
    }

    /// An auth user as Supabase Auth stores one, created only when no user has the e-mail.
    fn auth_user_sql(&self, email: &str, name: &str) -> String {
        let email = literal(email);
        format!(
            "insert into auth.users (instance_id, id, aud, role, email, encrypted_password, \
             email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)\n\
             select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', \
             'authenticated', {email}, extensions.crypt({}, extensions.gen_salt('bf', 10)), now(), \
             '{{\"provider\":\"email\",\"providers\":[\"email\"]}}', jsonb_build_object('full_name', {}), now(), now()\n\
             where not exists (select 1 from auth.users where email = {email});\n",
            literal(self.password.as_str()),
            literal(name),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "password: pw\norganization:\n  name: Demo\n  slug: demo\n  kind: team\n  \
                         plan: team\nteams:\n  - name: East\nusers:\n  - email: a@x.test\n    \
                         name: A\n    role: team_manager\n    team: East\n    manages: [East]\n";

    fn check_error(text: &str, line: Option<usize>, reason_part: &str) {
        let e = Demo::parse(Path::new("data/demo.yml"), text).unwrap_err();
        assert_eq!(e.line, line, "{e}");
        assert!(e.reason.contains(reason_part), "{e}");
    }

    #[test]
    fn a_valid_demo_creates_missing_rows_only() {
        let sql = Demo::parse(Path::new("d.yml"), VALID).unwrap().to_sql();
        assert!(sql.contains("extensions.crypt('pw', extensions.gen_salt('bf', 10))"));
        assert!(
            sql.contains("where not exists (select 1 from auth.users where email = 'a@x.test')")
        );
        assert!(sql.contains("'team_manager'"));
        assert!(sql.contains("insert into public.team_managers"));
        assert_eq!(sql.matches("on conflict").count(), 4, "{sql}");
    }

    #[test]
    fn unknown_teams_roles_and_duplicates_are_refused_at_their_line() {
        check_error(
            &VALID.replace("team: East", "team: North"),
            Some(10),
            "team `North` is not in `teams`",
        );
        check_error(
            &VALID.replace("role: team_manager", "role: boss"),
            Some(12),
            "unknown variant `boss`",
        );
        check_error(
            &VALID.replace("role: team_manager", "role: rep"),
            Some(10),
            "only team managers",
        );
        let twice = format!("{VALID}  - email: a@x.test\n    name: B\n    role: rep\n");
        check_error(&twice, Some(15), "`a@x.test` is listed twice");
        check_error(&VALID.replace("a@x.test", "ax.test"), Some(10), "not an e-mail address");
        check_error(&VALID.replace("slug: demo", "slug: Demo Org"), Some(4), "must be a-z");
    }

    #[test]
    fn the_plan_must_exist_in_the_catalogue() {
        let demo =
            Demo::parse(Path::new("d.yml"), &VALID.replace("plan: team", "plan: gold")).unwrap();
        let catalogue = Catalogue::parse(
            Path::new("p.yml"),
            "plans:\n  - key: team\n    name: T\n    price_cents: 1\n    interval: month\n    max_users: 1\n    max_sims: 1\n",
        )
        .unwrap();
        let e = demo.check_plan(&catalogue, Path::new("d.yml")).unwrap_err();
        assert_eq!(e.to_string(), "d.yml: plan `gold` is not in data/plans.yml");
    }
}
