def test_probe(backend_wh):
    wh = backend_wh
    print(wh.backend, wh.row_counts())
    for sql in ["SELECT ST_AsWKB(ST_Point(1, 2))", "SELECT ST_AsBinary(ST_Point(1, 2))", "SELECT ST_AsGeoJSON(ST_Point(1, 2))"]:
        try:
            print(sql, wh.query(sql))
        except Exception as e:
            print(sql, "ERR", type(e).__name__, str(e)[:200])
            if wh.backend == "postgres":
                wh.con.rollback() if not wh.con.autocommit else None
