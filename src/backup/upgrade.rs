//! The pure parts of an upgrade: the target image of `--to TAG`, and the version a tag promises
//! against the one the server reports.

use crate::stack::engine::split_image;

/// `--to 2.0.5` on `kestra/kestra:1.3.25` → `kestra/kestra:2.0.5`.
pub fn retagged(current: &str, tag: &str) -> String {
    let (repository, _) = split_image(current);
    // A digest reference has no tag to replace: the repository is what precedes the `@`.
    let repository = repository.split('@').next().unwrap_or(repository);
    format!("{repository}:{tag}")
}

/// The version a tag names, as `major.minor[.patch]`: `v2.0.5-full` → `2.0.5`, `1.3` → `1.3`;
/// `None` for tags that name no version (`latest`, `develop`).
pub fn expected_version(image: &str) -> Option<String> {
    let (_, tag) = split_image(image);
    let tag = tag.strip_prefix('v').unwrap_or(tag);
    let core: String = tag
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let parts: Vec<&str> = core.split('.').filter(|p| !p.is_empty()).collect();
    if parts.len() < 2 || parts.len() > 3 || parts.iter().any(|p| p.parse::<u32>().is_err()) {
        return None;
    }
    Some(parts.join("."))
}

/// Whether the reported version is the expected one: the same numbers, as far as the tag names
/// them (`2.0` accepts `2.0.5`; `2.0.5` refuses `2.0.6`).
pub fn version_matches(expected: &str, reported: &str) -> bool {
    let reported = reported.trim().trim_start_matches('v');
    let numbers: Vec<&str> = reported.split(['.', '-', '+']).take(3).collect();
    expected
        .split('.')
        .zip(numbers.iter().chain(std::iter::repeat(&"")))
        .all(|(e, r)| e == *r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_retag_the_same_repository() {
        assert_eq!(
            retagged("kestra/kestra:1.3.25", "2.0.5"),
            "kestra/kestra:2.0.5"
        );
        assert_eq!(retagged("kestra/kestra", "2.0.5"), "kestra/kestra:2.0.5");
        assert_eq!(retagged("reg:5000/k/kestra:1", "2"), "reg:5000/k/kestra:2");
        assert_eq!(
            retagged("kestra/kestra@sha256:ab", "2.0.5"),
            "kestra/kestra:2.0.5"
        );
    }

    #[test]
    fn tags_promise_versions() {
        assert_eq!(
            expected_version("kestra/kestra:2.0.5").as_deref(),
            Some("2.0.5")
        );
        assert_eq!(
            expected_version("kestra/kestra:v1.3.25-full").as_deref(),
            Some("1.3.25")
        );
        assert_eq!(
            expected_version("kestra/kestra:1.3").as_deref(),
            Some("1.3")
        );
        assert_eq!(expected_version("kestra/kestra:latest"), None);
        assert_eq!(expected_version("kestra/kestra:develop"), None);
        assert_eq!(expected_version("kestra/kestra"), None);
        assert_eq!(expected_version("img:2"), None);
    }

    #[test]
    fn versions_match_as_far_as_the_tag_says() {
        assert!(version_matches("2.0.5", "2.0.5"));
        assert!(version_matches("2.0", "2.0.5"));
        assert!(version_matches("2.1.0", "2.1.0-SNAPSHOT"));
        assert!(!version_matches("2.0.5", "2.0.6"));
        assert!(!version_matches("2.0.9", "1.3.26"));
        assert!(!version_matches("2.0", "2.1.0"));
    }
}
