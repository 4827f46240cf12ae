from waffle.admin import FlagAdmin

from django.contrib import admin

from side_effects.models import Flag

admin.site.register(Flag, FlagAdmin)
