//! Logos: written only when their bytes are a raster image a browser shows without running
//! anything (PNG, JPEG, GIF, WebP). SVG can carry scripts and remote references: refused, as
//! is anything else, whatever its file name says.

use serde::{Deserialize, Serialize};

/// The kinds of logo the catalogue writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LogoKind {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// GIF.
    Gif,
    /// WebP.
    Webp,
}

impl LogoKind {
    /// The kind `bytes` are by their magic bytes; None for anything else (SVG, text, HTML).
    pub fn sniff(bytes: &[u8]) -> Option<LogoKind> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(LogoKind::Png)
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(LogoKind::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(LogoKind::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(LogoKind::Webp)
        } else {
            None
        }
    }

    /// The file extension the logo is written with.
    pub fn extension(self) -> &'static str {
        match self {
            LogoKind::Png => "png",
            LogoKind::Jpeg => "jpg",
            LogoKind::Gif => "gif",
            LogoKind::Webp => "webp",
        }
    }
}

/// The file names a pack's logo may have in the pack folder, most usual first.
pub const LOGO_FILES: &[&str] = &[
    "logo.png",
    "logo.jpg",
    "logo.jpeg",
    "logo.gif",
    "logo.webp",
    "logo.svg",
];

/// A logo larger than this is not shown (Palette shows a small image).
pub const MAX_LOGO_BYTES: u64 = 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_raster_images_are_logos() {
        assert_eq!(
            LogoKind::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(LogoKind::Png)
        );
        assert_eq!(
            LogoKind::sniff(&[0xff, 0xd8, 0xff, 0xe0]),
            Some(LogoKind::Jpeg)
        );
        assert_eq!(LogoKind::sniff(b"GIF89a.."), Some(LogoKind::Gif));
        assert_eq!(
            LogoKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(LogoKind::Webp)
        );
        assert_eq!(
            LogoKind::sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            None
        );
        assert_eq!(LogoKind::sniff(b"<?xml version=\"1.0\"?><svg/>"), None);
        assert_eq!(LogoKind::sniff(b"not a png at all"), None);
        assert_eq!(LogoKind::sniff(b""), None);
    }
}
