//! Users and groups from `/etc/passwd` and `/etc/group`, read as files.
//!
//! The release agents are linked statically, and static glibc's NSS crashed (SIGSEGV) looking up a
//! name it could not find, so `getpwnam` is not an option. The price: only users and groups of the
//! local files are known (no LDAP/SSSD), which suits the service accounts agents run daemons as.

/// A user as `/etc/passwd` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswdEntry {
    /// uid.
    pub uid: u32,
    /// Primary gid.
    pub gid: u32,
    /// Home directory.
    pub home: String,
}

fn fields(line: &str) -> Option<Vec<&str>> {
    (!line.starts_with('#')).then(|| line.split(':').collect())
}

/// Find `name` in `/etc/passwd` text (`name:pw:uid:gid:gecos:home:shell`).
pub fn passwd_entry(text: &str, name: &str) -> Option<PasswdEntry> {
    text.lines().filter_map(fields).find_map(|f| {
        if f.len() < 7 || f[0] != name {
            return None;
        }
        Some(PasswdEntry {
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f[5].to_owned(),
        })
    })
}

/// The gid of group `name` in `/etc/group` text (`name:pw:gid:members`).
pub fn group_id(text: &str, name: &str) -> Option<u32> {
    text.lines()
        .filter_map(fields)
        .find(|f| f.first() == Some(&name))
        .and_then(|f| f.get(2).and_then(|id| id.trim().parse().ok()))
}

/// The groups of user `name` from `/etc/group` text: `primary` first, then every group listing the
/// user as a member, each once.
pub fn group_list(text: &str, name: &str, primary: u32) -> Vec<u32> {
    let mut out = vec![primary];
    for f in text.lines().filter_map(fields) {
        let (Some(gid), Some(members)) = (f.get(2).and_then(|g| g.parse().ok()), f.get(3)) else {
            continue;
        };
        if members.split(',').any(|m| m.trim() == name) && !out.contains(&gid) {
            out.push(gid);
        }
    }
    out
}

/// Look `name` up in `/etc/passwd`; `Err` when the file cannot be read.
pub fn user(name: &str) -> std::io::Result<Option<PasswdEntry>> {
    Ok(passwd_entry(&std::fs::read_to_string("/etc/passwd")?, name))
}

/// Look group `name` up in `/etc/group`; `Err` when the file cannot be read.
pub fn group(name: &str) -> std::io::Result<Option<u32>> {
    Ok(group_id(&std::fs::read_to_string("/etc/group")?, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken\n\
        mysql:x:104:110:MariaDB:/nonexistent:/bin/false\n\
        ferroha-api:x:998:997::/var/lib/ferroha-api:/usr/sbin/nologin\n";
    const GROUP: &str = "root:x:0:\n# mysql:x:1:\nmysql:x:110:\nadm:x:4:syslog,ferroha-api\n\
        ferroha-api:x:997:\nweb:x:33: ferroha-api \n";

    #[test]
    fn users() {
        assert_eq!(
            passwd_entry(PASSWD, "ferroha-api"),
            Some(PasswdEntry { uid: 998, gid: 997, home: "/var/lib/ferroha-api".into() })
        );
        assert_eq!(passwd_entry(PASSWD, "root").map(|e| e.uid), Some(0));
        assert_eq!(passwd_entry(PASSWD, "mysq"), None, "no prefix match");
        assert_eq!(passwd_entry(PASSWD, "broken"), None);
        assert_eq!(passwd_entry("#root:x:0:0::/:/bin/sh\n", "#root"), None, "comments skipped");
    }

    #[test]
    fn groups() {
        assert_eq!(group_id(GROUP, "mysql"), Some(110), "the commented line does not count");
        assert_eq!(group_id(GROUP, "nope"), None);
        assert_eq!(group_list(GROUP, "ferroha-api", 997), [997, 4, 33]);
        assert_eq!(group_list(GROUP, "mysql", 110), [110]);
    }
}
