//! What the guest's screen showed: QEMU's `screendump` (a binary PPM, the
//! one format every QEMU writes) read into RGB pixels, written as PNG for a
//! person to look at, and checked the way a person would glance at it: is
//! anything drawn at all, and did the picture change between the menu and
//! the target's console. Pure: the unit tests make their own pictures.

use std::collections::HashMap;

/// An RGB picture, 8 bits per channel, rows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

/// Pixels that must differ from the background (or between two pictures)
/// for a picture to count as showing something (or as changed): a text
/// cursor is 8x2 = 16 pixels, a few characters of an 8x16 font a few
/// hundred.
pub const INK_PIXELS: usize = 200;

/// What a picture shows, in numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// Distinct colours (counted up to 1000).
    pub colours: usize,
    /// Pixels not of the most common colour (the background).
    pub ink: usize,
}

/// Reads a binary PPM (`P6`, maxval 255, `#` comments allowed).
pub fn parse_ppm(bytes: &[u8]) -> Result<Picture, String> {
    let mut pos = 0;
    let mut fields = Vec::new();
    while fields.len() < 4 {
        while pos < bytes.len() && (bytes[pos].is_ascii_whitespace() || bytes[pos] == b'#') {
            if bytes[pos] == b'#' {
                while pos < bytes.len() && bytes[pos] != b'\n' {
                    pos += 1;
                }
            } else {
                pos += 1;
            }
        }
        let start = pos;
        while pos < bytes.len() && !bytes[pos].is_ascii_whitespace() && bytes[pos] != b'#' {
            pos += 1;
        }
        if start == pos {
            return Err("not a PPM: its header ends early".into());
        }
        fields.push(String::from_utf8_lossy(&bytes[start..pos]).into_owned());
    }
    // Exactly one whitespace byte separates the header from the pixels.
    pos += 1;
    if fields[0] != "P6" {
        return Err(format!(
            "not a binary PPM (P6): starts with `{}`",
            fields[0]
        ));
    }
    let num = |i: usize, what: &str| -> Result<u32, String> {
        fields[i]
            .parse()
            .map_err(|_| format!("PPM {what} `{}` is not a number", fields[i]))
    };
    let (width, height, max) = (num(1, "width")?, num(2, "height")?, num(3, "maxval")?);
    if max != 255 {
        return Err(format!(
            "PPM maxval {max}: only 8-bit pictures (255) are read"
        ));
    }
    let len = width as usize * height as usize * 3;
    let data = bytes.get(pos..).unwrap_or_default();
    if width == 0 || height == 0 || data.len() < len {
        return Err(format!(
            "PPM of {width}x{height} needs {len} bytes of pixels, has {}",
            data.len()
        ));
    }
    Ok(Picture {
        width,
        height,
        rgb: data[..len].to_vec(),
    })
}

/// The picture as a PNG file (8-bit RGB).
pub fn to_png(p: &Picture) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, p.width, p.height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(|e| e.to_string())?;
    w.write_image_data(&p.rgb).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

fn pixels(p: &Picture) -> impl Iterator<Item = [u8; 3]> + '_ {
    p.rgb.chunks_exact(3).map(|c| [c[0], c[1], c[2]])
}

pub fn look(p: &Picture) -> Look {
    let mut counts: HashMap<[u8; 3], usize> = HashMap::new();
    for px in pixels(p) {
        *counts.entry(px).or_default() += 1;
    }
    let background = counts.values().copied().max().unwrap_or(0);
    Look {
        colours: counts.len().min(1000),
        ink: counts.values().sum::<usize>() - background,
    }
}

/// Why the picture counts as blank (one colour, or hardly anything drawn
/// on the background), or None.
pub fn blank(p: &Picture) -> Option<String> {
    let l = look(p);
    if l.colours < 2 {
        return Some(format!(
            "the screen is one colour ({}x{})",
            p.width, p.height
        ));
    }
    if l.ink < INK_PIXELS {
        return Some(format!(
            "the screen is blank but for {} pixels (a cursor?); at least {INK_PIXELS} must be drawn",
            l.ink
        ));
    }
    None
}

/// How many pixels differ between `a` and `b` (all of them when the
/// screen mode changed).
pub fn difference(a: &Picture, b: &Picture) -> usize {
    if (a.width, a.height) != (b.width, b.height) {
        return (a.width as usize * a.height as usize).max(b.width as usize * b.height as usize);
    }
    pixels(a).zip(pixels(b)).filter(|(x, y)| x != y).count()
}

/// One line for a person: `1024x768, 9 colours, 3.1 % drawn`.
pub fn describe(p: &Picture) -> String {
    let l = look(p);
    let total = (p.width as usize * p.height as usize).max(1);
    format!(
        "{}x{}, {}{} colours, {:.1} % drawn",
        p.width,
        p.height,
        l.colours,
        if l.colours >= 1000 { "+" } else { "" },
        100.0 * l.ink as f64 / total as f64
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A black picture with a white `ink` x `ink` square at the top left.
    fn pic(w: u32, h: u32, ink: u32) -> Picture {
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        for y in 0..ink.min(h) {
            for x in 0..ink.min(w) {
                let i = ((y * w + x) * 3) as usize;
                rgb[i..i + 3].copy_from_slice(&[255, 255, 255]);
            }
        }
        Picture {
            width: w,
            height: h,
            rgb,
        }
    }

    fn ppm(p: &Picture, header: &str) -> Vec<u8> {
        let mut v = header.as_bytes().to_vec();
        v.extend_from_slice(&p.rgb);
        v
    }

    #[test]
    fn ppm_as_qemu_writes_it_and_with_comments() {
        let p = pic(4, 3, 2);
        assert_eq!(parse_ppm(&ppm(&p, "P6\n4 3\n255\n")).unwrap(), p);
        assert_eq!(parse_ppm(&ppm(&p, "P6 # qemu\n4\t3 255\n")).unwrap(), p);
        // Pixel bytes that look like whitespace are pixels, not header.
        let q = Picture {
            width: 1,
            height: 1,
            rgb: vec![b' ', b'\n', b'#'],
        };
        assert_eq!(parse_ppm(&ppm(&q, "P6\n1 1\n255\n")).unwrap(), q);
    }

    #[test]
    fn bad_ppms_say_why() {
        let p = pic(4, 3, 2);
        assert!(parse_ppm(b"P3\n1 1\n255\n0 0 0")
            .unwrap_err()
            .contains("P6"));
        assert!(parse_ppm(b"P6\n4 3\n").unwrap_err().contains("ends early"));
        assert!(parse_ppm(&ppm(&p, "P6\n4 3\n65535\n"))
            .unwrap_err()
            .contains("maxval"));
        assert!(parse_ppm(&ppm(&p, "P6\n4 4\n255\n"))
            .unwrap_err()
            .contains("needs 48 bytes"));
        assert!(parse_ppm(b"P6\nx 3\n255\n").unwrap_err().contains("width"));
    }

    #[test]
    fn png_round_trips() {
        let p = pic(16, 9, 5);
        let bytes = to_png(&p).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let mut r = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (16, 9));
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(&buf[..info.buffer_size()], &p.rgb[..]);
    }

    #[test]
    fn blank_means_one_colour_or_a_cursor_only() {
        assert!(blank(&pic(64, 48, 0)).unwrap().contains("one colour"));
        assert!(blank(&pic(64, 48, 4))
            .unwrap()
            .contains("but for 16 pixels"));
        assert_eq!(blank(&pic(64, 48, 20)), None);
        assert_eq!(
            look(&pic(64, 48, 20)),
            Look {
                colours: 2,
                ink: 400
            }
        );
        assert_eq!(describe(&pic(64, 48, 20)), "64x48, 2 colours, 13.0 % drawn");
    }

    #[test]
    fn difference_counts_changed_pixels_and_mode_changes() {
        assert_eq!(difference(&pic(64, 48, 20), &pic(64, 48, 20)), 0);
        assert_eq!(difference(&pic(64, 48, 20), &pic(64, 48, 10)), 300);
        assert_eq!(difference(&pic(64, 48, 20), &pic(80, 25, 20)), 64 * 48);
    }
}
