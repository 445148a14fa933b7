"""Deterministic data of the bundled demo: a music catalogue, a Rekordbox library, a history.

`prepare(data_dir)` generates the files once from a seed and reuses them while the seed
and generator version match. It owns the file formats only: no HTTP, no matching.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

GENERATOR_VERSION = 1
DEFAULT_SEED = 20240607
DEFAULT_CATALOGUE_SIZE = 20_000
DEFAULT_PLAYLIST_SIZES = (10, 50, 100)
DEFAULT_HISTORY_ROWS = 5_000
DATA_DIR_ENV = "PERFKIT_DEMO_DATA"
DEFAULT_DATA_DIR = Path("data") / "demo"

# The results export format of trackmatch (both versions write and read these columns).
RESULT_COLUMNS = [
    "track_id",
    "artist",
    "title",
    "mix",
    "key",
    "bpm",
    "catalogue_id",
    "matched_artists",
    "matched_title",
    "matched_mix",
    "label",
    "genre",
    "release_date",
    "score",
    "matched",
]


def _words(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


_FIRST = _words(
    "Anna Ben Carl Dana Elif Felix Greta Hugo Ines Jonas Kai Lena Mika Nils Olga Paul Quinn "
    "Rosa Sven Tara Uma Vera Will Yara Zoe Björn Chloé Dário Émile François Gaël Hélène "
    "Jürgen Łukasz Noémie Ólafur Søren Zoë José Andrés Mónica Ümit Ayşe Nuño Renée Agnès "
    "Maël Joël Inès Márta Tomáš Dominik Leïla Sinéad Aurélien Bartosz Kasia Timo Ilse Ruben"
)
_LAST = _words(
    "Adler Berg Castro Duval Eriksen Fischer Garnier Haas Ivanov Jansen Keller Lang Moreau "
    "Novak Ortega Peters Quist Roussel Schmidt Tanaka Ulrich Vidal Weber Young Zimmer Müller "
    "Léger Ørsted Gómez Núñez Dvořák Pérez Öztürk Łopez Bräuer Sørensen Højer Martín Ibáñez "
    "Faure Leclère Kovač Šimek Jurić Rønne Halvorsen Lindqvist Åberg Dahl Costa Ferreira"
)
_ALIASES = _words(
    "Kaskadé Mønster Lumière Nørdlys Dâmien Ékho Solène Vïbe Kölsch-Nord Âmeris Bleu Citrón "
    "Delta Nine Fjørd Glasshaus Hélix Ionique Jadé Kõsmo Lunaé Mirrorball Nocturne Orkidé "
    "Polaris Quantå Rêverie Sūn Tīde Umbra Velóur Wavelength Xenön Yūgen Zénith Analog Dreams "
    "Bassline Theory Cold Static Deep Cover Ember Foundry"
)
_ADJECTIVES = _words(
    "Midnight Electric Golden Velvet Neon Silent Broken Endless Crystal Hidden Lost Deep Wild "
    "Cosmic Solar Lunar Frozen Burning Sacred Distant Secret Fading Rising Falling Eternal "
    "Purple Blue Black White Red Silver Hollow Liquid Northern Southern Tender Restless Naïve "
    "Última Über"
)
_NOUNS = _words(
    "Drive Heart Dreams City Rain Signal Horizon Garden Echo Memory Ocean Fire Shadow Light "
    "Waves Mirror Paradise Desire Motion Rhythm Voices Machine Tears Skyline Summer Winter "
    "Stars River Pulse Silence Gravity Kingdom Orbit Fever Spirit Harbour Tunnel Cathedral "
    "Café Señorita Façade Mañana Sérénade Déjà-Vu Fiesta Nuit Sueño Lágrimas Ångström"
)
_LABELS = _words(
    "Afterlife|Anjunadeep|Innervisions|Drumcode|Kompakt|Cocoon|Ostgut Ton|Hotflush|Crosstown "
    "Rebels|Dirtybird|Defected|Toolroom|Watergate|Diynamic|Mobilee|Ninja Tune|Warp|Hyperdub|"
    "Ghostly|Lobster Theremin|Running Back|Permanent Vacation|Kalahari Oyster|Keinemusik|Cercle|"
    "Bedrock|Hospital|Metalheadz|Exit Records|Sónar Sounds|Éditions Mego",
    "|",
)
_GENRES = [
    "Techno",
    "House",
    "Deep House",
    "Melodic House & Techno",
    "Drum & Bass",
    "Trance",
    "Progressive House",
    "Afro House",
    "Minimal / Deep Tech",
    "Tech House",
    "Breaks",
    "Electronica",
    "Indie Dance",
    "Organic House",
]
_KEYS = [
    f"{note}{mode}"
    for note in ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    for mode in ("", "m")
]
_PLAIN_MIXES = ["Original Mix", "Extended Mix", "Radio Edit", "Dub Mix", "VIP Mix", "Club Mix"]


@dataclass(frozen=True)
class DemoData:
    """Where the generated files of one seed live."""

    directory: Path
    seed: int

    @property
    def catalogue(self) -> Path:
        return self.directory / "catalogue.json"

    @property
    def library(self) -> Path:
        return self.directory / "rekordbox.xml"

    @property
    def truth(self) -> Path:
        """Which catalogue id each library track really is (null: not in the catalogue)."""
        return self.directory / "truth.json"

    @property
    def history(self) -> Path:
        """A results table as trackmatch exports it, the size of a season of playlists."""
        return self.directory / "history.csv"

    @property
    def marker(self) -> Path:
        return self.directory / "generated.json"


def default_data_dir() -> Path:
    """``$PERFKIT_DEMO_DATA`` or ``data/demo`` under the working directory."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def scratch_dir(data_dir: Path) -> Path:
    """Where demo benchmarks put temporary files, so that one rmtree cleans up after a kill."""
    return Path(data_dir) / "scratch"


def fold(text: str) -> str:
    """Accents removed, as a user without them would type the text."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _artists(rng: random.Random, n: int) -> list[str]:
    names: set[str] = set(_ALIASES)
    while len(names) < n:
        names.add(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}")
    return sorted(names)


def _title(rng: random.Random) -> str:
    shape = rng.random()
    if shape < 0.45:
        return f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
    if shape < 0.65:
        return f"{rng.choice(_NOUNS)} of {rng.choice(_NOUNS)}"
    if shape < 0.85:
        return f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
    return rng.choice(_NOUNS)


def generate_catalogue(seed: int, size: int) -> list[dict[str, Any]]:
    """Songs in one to four versions (original, extended, remixes), ids 1..size."""
    rng = random.Random(seed)
    artists = _artists(rng, 3_000)
    start = date(2005, 1, 1)
    records: list[dict[str, Any]] = []
    while len(records) < size:
        main = rng.choice(artists)
        song_artists = [main] + ([rng.choice(artists)] if rng.random() < 0.18 else [])
        title = _title(rng)
        label = rng.choice(_LABELS)
        genre = rng.choice(_GENRES)
        released = start + timedelta(days=rng.randrange(7_300))
        key = rng.choice(_KEYS)
        bpm = round(rng.uniform(100, 140) * 2) / 2
        n_versions = rng.choice((1, 1, 2, 2, 3, 4))
        mixes = ["Original Mix", *rng.sample(_PLAIN_MIXES[1:], k=2)]
        mixes += [f"{rng.choice(artists)} Remix" for _ in range(2)]
        for mix in mixes[:n_versions]:
            remix = mix.endswith(" Remix")
            records.append(
                {
                    "id": len(records) + 1,
                    "artists": song_artists,
                    "title": title,
                    "mix": mix,
                    "key": rng.choice(_KEYS) if remix else key,
                    "bpm": round(rng.uniform(100, 140) * 2) / 2 if remix else bpm,
                    "label": label,
                    "genre": genre,
                    "release_date": (
                        released + timedelta(days=rng.randrange(30, 900) if remix else 0)
                    ).isoformat(),
                }
            )
            if len(records) == size:
                break
    return records


def _typo(rng: random.Random, text: str) -> str:
    letters = [i for i in range(len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()]
    if not letters:
        return text
    i = rng.choice(letters)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _library_entry(rng: random.Random, record: dict[str, Any]) -> dict[str, str]:
    """A catalogue record as a DJ's Rekordbox collection would spell it."""
    artists = list(record["artists"])
    title = record["title"]
    mix = record["mix"]
    if len(artists) > 1 and rng.random() < 0.5:
        artist = artists[0]
        title = f"{title} (feat. {artists[1]})"
    else:
        artist = rng.choice((" & ", ", ", " feat. ")).join(artists)
    if rng.random() < 0.2:
        artist, title = fold(artist), fold(title)
    if rng.random() < 0.05:
        title = _typo(rng, title)
    if rng.random() < 0.1:
        title = title.lower()
    in_name = rng.random() < 0.65
    name = f"{title} ({mix})" if in_name else title
    key = record["key"] if rng.random() < 0.9 else ""
    return {
        "Name": name,
        "Artist": artist,
        "Mix": "" if in_name else mix,
        "Tonality": key,
        "AverageBpm": f"{record['bpm']:.2f}",
        "Year": record["release_date"][:4],
        "Label": record["label"],
        "Genre": record["genre"],
    }


def generate_library(
    seed: int, catalogue: list[dict[str, Any]], sizes: tuple[int, ...]
) -> tuple[str, dict[str, int | None]]:
    """Rekordbox XML with one playlist per size, and the truth per TrackID."""
    rng = random.Random(seed + 1)
    root = ET.Element("DJ_PLAYLISTS", Version="1.0.0")
    ET.SubElement(root, "PRODUCT", Name="rekordbox", Version="6.8.2", Company="AlphaTheta")
    collection = ET.SubElement(root, "COLLECTION")
    playlists = ET.SubElement(ET.SubElement(root, "PLAYLISTS"), "NODE", Type="0", Name="ROOT")
    playlists.set("Count", str(len(sizes)))
    truth: dict[str, int | None] = {}
    extra = generate_catalogue(seed + 2, 500)  # songs the catalogue does not have
    next_id = 1
    for size in sizes:
        node = ET.SubElement(playlists, "NODE", Name=f"Set {size}", Type="1", KeyType="0")
        node.set("Entries", str(size))
        for _ in range(size):
            known = rng.random() < 0.9
            record = rng.choice(catalogue) if known else rng.choice(extra)
            entry = _library_entry(rng, record)
            track_id = str(next_id)
            next_id += 1
            ET.SubElement(
                collection,
                "TRACK",
                TrackID=track_id,
                Kind="MP3 File",
                Location=f"file://localhost/Music/{track_id}.mp3",
                **entry,
            )
            ET.SubElement(node, "TRACK", Key=track_id)
            truth[track_id] = record["id"] if known else None
    collection.set("Entries", str(next_id - 1))
    ET.indent(root)
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
    return text + "\n", truth


def generate_history(seed: int, catalogue: list[dict[str, Any]], rows: int) -> str:
    """A results export of `rows` matched and unmatched tracks (trackmatch's CSV format)."""
    rng = random.Random(seed + 3)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RESULT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for i in range(rows):
        record = rng.choice(catalogue)
        entry = _library_entry(rng, record)
        matched = rng.random() < 0.85
        score = round(rng.uniform(80, 100) if matched else rng.uniform(30, 75), 2)
        writer.writerow(
            {
                "track_id": i + 1,
                "artist": entry["Artist"],
                "title": entry["Name"],
                "mix": entry["Mix"],
                "key": entry["Tonality"],
                "bpm": entry["AverageBpm"],
                "catalogue_id": record["id"] if matched else "",
                "matched_artists": ", ".join(record["artists"]) if matched else "",
                "matched_title": record["title"] if matched else "",
                "matched_mix": record["mix"] if matched else "",
                "label": record["label"] if matched else "",
                "genre": record["genre"] if matched else "",
                "release_date": record["release_date"] if matched else "",
                "score": score,
                "matched": matched,
            }
        )
    return buffer.getvalue()


def prepare(
    data_dir: Path | None = None,
    seed: int = DEFAULT_SEED,
    catalogue_size: int = DEFAULT_CATALOGUE_SIZE,
    playlist_sizes: tuple[int, ...] = DEFAULT_PLAYLIST_SIZES,
    history_rows: int = DEFAULT_HISTORY_ROWS,
) -> DemoData:
    """Generate the demo files into `data_dir` unless the same generation is already there."""
    data = DemoData(Path(data_dir or default_data_dir()).resolve(), seed)
    stamp = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "catalogue_size": catalogue_size,
        "playlist_sizes": list(playlist_sizes),
        "history_rows": history_rows,
    }
    if data.marker.is_file() and _read_json(data.marker) == stamp:
        return data
    from perfkit.rundir import atomic_write_json, atomic_write_text  # pandas: only when generating

    catalogue = generate_catalogue(seed, catalogue_size)
    library, truth = generate_library(seed, catalogue, playlist_sizes)
    atomic_write_text(data.catalogue, json.dumps(catalogue, ensure_ascii=False) + "\n")
    atomic_write_text(data.library, library)
    atomic_write_json(data.truth, truth)
    atomic_write_text(data.history, generate_history(seed, catalogue, history_rows))
    atomic_write_json(data.marker, stamp)  # last: its presence means the set is complete
    return data


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
