#!/usr/bin/env bash
# Installs what the test suite needs from Debian, only what is missing:
#   - PostgreSQL + PostGIS (the warehouse tests on a throwaway cluster);
#   - Chromium (browser tests, driven by Playwright with executable_path=/usr/bin/chromium: no browser download);
#   - gdal-bin (ogrinfo reads the OGC API Features of the running server);
#   - LibreOffice Calc without GUI (a downloaded CSV/XLSX must open: libreoffice --headless --convert-to pdf);
#   - poppler-utils (pdftoppm renders the produced PDFs' pages to PNG).
# Node.js 20 and npm (to build the front end) are expected on the machine.
set -euo pipefail
need=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  need+=(postgresql)
fi
if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  need+=(postgresql-15-postgis-3)
fi
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v ogrinfo >/dev/null 2>&1 || need+=(gdal-bin)
if ! command -v soffice >/dev/null 2>&1 && ! command -v libreoffice >/dev/null 2>&1; then
  need+=(libreoffice-calc-nogui)
fi
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installation des paquets Debian nécessaires aux tests : ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q -o DPkg::Lock::Timeout=300
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "${need[@]}"
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm est introuvable : installez Node.js 20 (ou plus récent) et npm pour construire l'interface web." >&2
  exit 1
fi
