include $(sort $(wildcard $(BR2_EXTERNAL_TENDER_PATH)/package/*/*.mk))
