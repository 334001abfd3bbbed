"""SDTM layer (group ``sdtm``): one asset per ``dbt_like_sql/sdtm/*.sql`` model."""

from assets.sql_layer import sql_layer_assets

sdtm_assets = sql_layer_assets("sdtm")
